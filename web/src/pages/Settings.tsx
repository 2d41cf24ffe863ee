// Where the command API is (cancel, retry, projects): webhook-ingest, by default port 8080 of
// the dashboard's host.

import { useState } from 'preact/hooks';
import { defaultCommandApi, settings } from '../api/settings';

export function SettingsPage() {
  const [url, setUrl] = useState(settings.commandApi());
  const [saved, setSaved] = useState(false);
  return (
    <section class="page">
      <header class="page-head"><h1>Settings</h1></header>
      <form class="settings" onSubmit={(e) => {
        e.preventDefault();
        settings.setCommandApi(url.trim() === defaultCommandApi(location) ? null : url.trim());
        setSaved(true);
      }}>
        <label>
          Command API base URL
          <input name="commandApi" value={url} onInput={(e) => { setUrl(e.currentTarget.value); setSaved(false); }} />
        </label>
        <p class="muted">Default: {defaultCommandApi(location)}. It must allow this origin ({location.origin}) via CORS.</p>
        <button type="submit">Save</button>
        {saved && <span class="muted"> Saved.</span>}
      </form>
    </section>
  );
}
