/* global document, window */
// A bundle's page while the worker builds it: asks the web server for the bundle's state every two
// seconds and shows it in place (the summary is an aria-live region), then reloads the page once the
// build has ended so the share form appears. Without JavaScript, the "Refresh" link does the same.
const tag = document.getElementById('bundle-state');
const url = tag?.dataset.stateUrl;

async function poll() {
  const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok || !res.headers.get('content-type')?.includes('application/json')) return;
  const b = await res.json();
  tag.textContent = b.state.charAt(0).toUpperCase() + b.state.slice(1);
  if (b.state === 'ready' || b.state === 'failed') {
    window.location.reload();
    return;
  }
  setTimeout(poll, 2000);
}

if (url) setTimeout(poll, 1000);
