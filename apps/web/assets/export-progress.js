/* global document, window */
// The export page's live state: asks the web server for the export's progress every two seconds,
// says it in the page's status region (read out by screen readers), and reloads the page once the
// export has settled so its final facts (provenance, sealed hashes) are the server's.
const region = document.getElementById('export-progress');
const status = document.getElementById('export-status');
const url = region?.dataset.progressUrl;

async function poll() {
  try {
    const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    if (res.ok) {
      const p = await res.json();
      if (p.state === 'completed' || p.state === 'failed') return window.location.reload();
      status.textContent = `${p.state.charAt(0).toUpperCase()}${p.state.slice(1)}: ${p.sealed} of ${p.total} files sealed so far. This page updates itself.`;
    }
  } catch {
    // A dropped request is retried on the next tick.
  }
  setTimeout(poll, 2000);
}

if (url && status) setTimeout(poll, 1000);
