/* global document, window */
// Uploads on the exhibit page: files, folders or drag and drop, each sent with tus-js-client
// (window.tus, served at /assets/tus.min.js) to this server's /uploads, which relays to the API as
// the signed-in person. tus keeps each upload's URL (never its bytes) in localStorage under the
// file's fingerprint (name, type, size, modification time), so after a reload choosing the same
// file again continues from the offset the service holds. The files table is fetched again when an
// upload starts and ends, then every few seconds while a file is being verified, to show sealed or
// quarantined.
const root = document.getElementById('exhibit-upload');
const tus = window.tus;

if (root && tus && tus.isSupported) {
  const { caseId, exhibitId, csrf } = root.dataset;
  const list = document.getElementById('upload-list');
  const total = document.getElementById('upload-total');
  const totalText = document.getElementById('upload-total-text');
  const filesBox = document.getElementById('exhibit-files');
  /** @type {{ upload: any, size: number, sent: number, done: boolean, running: boolean, failed: boolean, button: HTMLButtonElement }[]} */
  const entries = [];
  root.hidden = false;

  const megabytes = (n) => `${(n / 1048576).toFixed(1)} MB`;

  function showTotal() {
    const size = entries.reduce((s, e) => s + e.size, 0);
    const sent = entries.reduce((s, e) => s + e.sent, 0);
    total.value = size ? Math.floor((sent / size) * 100) : 100;
    const finished = entries.filter((e) => e.done).length;
    totalText.textContent = `${megabytes(sent)} of ${megabytes(size)}; ${finished} of ${entries.length} files uploaded`;
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function errorText(err) {
    try {
      const body = JSON.parse(err.originalResponse.getBody());
      if (body.message) return `${body.message} (${body.code})`;
    } catch {
      // not an answer of the service: the browser's own message follows
    }
    return err.message;
  }

  async function add(file, name) {
    document.getElementById('upload-progress').hidden = false;
    const item = element('li', 'app-upload');
    const label = element('label', 'govuk-body', `${name} (${megabytes(file.size)})`);
    const bar = element('progress');
    bar.max = 100;
    bar.value = 0;
    bar.id = `upload-${entries.length}`;
    label.htmlFor = bar.id;
    const status = element('span', 'govuk-body-s', ' Waiting');
    status.setAttribute('data-upload-status', '');
    const button = element('button', 'govuk-button govuk-button--secondary govuk-!-margin-bottom-0', `Pause ${name}`);
    button.type = 'button';
    item.append(label, ' ', bar, status, ' ', button);
    list.append(item);

    const entry = { upload: null, size: file.size, sent: 0, done: false, running: false, failed: false, button };
    entries.push(entry);
    entry.upload = new tus.Upload(file, {
      endpoint: '/uploads',
      headers: { 'x-csrf-token': csrf },
      metadata: { caseId, exhibitId, filename: name, filetype: file.type || 'application/octet-stream' },
      // Requests of at most 16 MiB (the API's default storage part): no proxy on the way meets an
      // endless body, and a dropped connection is noticed at the next request at the latest.
      chunkSize: 16 * 1024 * 1024,
      // A dropped connection is retried for about two minutes, asking the service its offset first.
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
      removeFingerprintOnSuccess: true,
      onProgress(sent) {
        entry.sent = sent;
        bar.value = file.size ? Math.floor((sent / file.size) * 100) : 100;
        status.textContent = ` ${megabytes(sent)} sent`;
        showTotal();
      },
      onSuccess() {
        Object.assign(entry, { done: true, running: false, sent: file.size });
        bar.value = 100;
        status.textContent = ' Uploaded: being verified';
        button.remove();
        showTotal();
        refreshFiles();
      },
      onError(err) {
        Object.assign(entry, { running: false, failed: true });
        status.textContent = ` Stopped: ${errorText(err)}`;
        button.textContent = `Resume ${name}`;
        showTotal();
      },
    });
    button.addEventListener('click', () => toggle(entry, name));
    const previous = await entry.upload.findPreviousUploads();
    const same = previous.find((p) => p.metadata && p.metadata.exhibitId === exhibitId);
    if (same) {
      entry.upload.resumeFromPreviousUpload(same);
      forgetUnfinished(same.urlStorageKey);
      status.textContent = ' Continuing where it stopped';
    }
    run(entry, name);
    refreshFiles();
  }

  function run(entry, name) {
    Object.assign(entry, { running: true, failed: false });
    entry.button.textContent = `Pause ${name}`;
    entry.upload.start();
  }

  function pause(entry, name) {
    entry.running = false;
    entry.button.textContent = `Resume ${name}`;
    entry.upload.abort();
  }

  function toggle(entry, name) {
    if (entry.running) pause(entry, name);
    else run(entry, name);
  }

  const nameOf = (e) => e.upload.options.metadata.filename;
  // tus gives up at once while the browser is offline: what stopped that way goes on when it is back.
  window.addEventListener('online', () => entries.filter((e) => e.failed).forEach((e) => run(e, nameOf(e))));
  document.getElementById('upload-pause-all').addEventListener('click', () => entries.filter((e) => e.running).forEach((e) => pause(e, nameOf(e))));
  document.getElementById('upload-resume-all').addEventListener('click', () => entries.filter((e) => !e.running && !e.done).forEach((e) => run(e, nameOf(e))));

  const chosen = (input) => input.addEventListener('change', () => {
    for (const file of input.files) add(file, file.webkitRelativePath || file.name);
    input.value = '';
  });
  chosen(document.getElementById('upload-files'));
  chosen(document.getElementById('upload-folder'));

  // Dropped folders are walked with the File System entries API, names kept relative to the drop.
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      add(file, prefix + file.name);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  }
  const drop = document.getElementById('upload-drop');
  drop.addEventListener('dragover', (event) => event.preventDefault());
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    for (const item of event.dataTransfer.items) {
      const entry = item.webkitGetAsEntry && item.webkitGetAsEntry();
      if (entry) walk(entry, '');
      else if (item.kind === 'file') add(item.getAsFile(), item.getAsFile().name);
    }
  });

  // Uploads left unfinished by an earlier visit (their URLs only): the person chooses the files again.
  tus.defaultOptions.urlStorage.findAllUploads().then((stored) => {
    const mine = stored.filter((u) => u.metadata && u.metadata.exhibitId === exhibitId);
    if (!mine.length) return;
    const box = document.getElementById('upload-unfinished');
    box.append(element('h3', 'govuk-heading-s', 'Not finished'), element('p', 'govuk-body', 'Choose these files again to continue where they stopped:'));
    const names = element('ul', 'govuk-list govuk-list--bullet');
    for (const u of mine) {
      const item = element('li', '', `${u.metadata.filename} (${megabytes(u.size)})`);
      item.dataset.key = u.urlStorageKey;
      names.append(item);
    }
    box.append(names);
  });

  /** A file chosen again leaves the "Not finished" list (the whole list once it is empty). */
  function forgetUnfinished(key) {
    const box = document.getElementById('upload-unfinished');
    for (const item of box.querySelectorAll('li')) if (item.dataset.key === key) item.remove();
    if (!box.querySelector('li')) box.replaceChildren();
  }

  // The files table again while a file is uploading or being verified.
  let timer;
  function refreshFiles() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const res = await fetch(filesBox.dataset.filesTable, { headers: { accept: 'text/html' } }).catch(() => undefined);
      if (res && res.ok) {
        const html = await res.text();
        if (html !== filesBox.innerHTML) filesBox.innerHTML = html;
      }
      // Not while bytes are only being sent (the progress bars show that): each read is logged.
      if (filesBox.querySelector('[data-state="verifying"]')) refreshFiles();
    }, 3000);
  }
  if (filesBox.querySelector('[data-state="verifying"]')) refreshFiles();
}
