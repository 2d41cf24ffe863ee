// The shell: sign-in gate, navigation, and the page the hash names. A page that throws while
// rendering is caught here and shown as a message, never as a blank page.

import { Component, type ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api/client';
import { settings } from './api/settings';
import { ErrorMessage } from './components/common';
import { useLoad } from './lib/hooks';
import { href, useRoute } from './lib/router';
import { BuildDetailPage } from './pages/BuildDetail';
import { BuildsPage } from './pages/Builds';
import { LoginPage } from './pages/Login';
import { PerformancePage } from './pages/Performance';
import { ProjectsPage } from './pages/Projects';
import { SettingsPage } from './pages/Settings';

class Boundary extends Component<{ children: ComponentChildren; resetKey: string }, { error?: Error }> {
  state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: undefined });
  }
  render() {
    return this.state.error ? <ErrorMessage error={`This page failed: ${this.state.error.message}`} /> : this.props.children;
  }
}

// Project names for filters: from the command API when reachable, else from recent builds.
function useProjectNames(): string[] {
  const projects = useLoad(async (signal) => {
    try {
      return (await api.projects(signal)).projects.map((p) => p.name);
    } catch {
      const page = await api.builds({ limit: 500 }, signal);
      return [...new Set(page.builds.map((b) => b.project))];
    }
  }, [], 60000);
  return (projects.data ?? []).slice().sort();
}

function Shell({ onLogout }: { onLogout: () => void }) {
  const route = useRoute();
  const projects = useProjectNames();
  const [section, id] = route.path;
  const page = section ?? 'builds';
  let body;
  if (page === 'builds' && id) body = <BuildDetailPage id={id} />;
  else if (page === 'builds') body = <BuildsPage route={route} projects={projects} />;
  else if (page === 'performance') body = <PerformancePage route={route} projects={projects} />;
  else if (page === 'projects') body = <ProjectsPage />;
  else if (page === 'settings') body = <SettingsPage />;
  else body = <ErrorMessage error={`No page ${route.path.join('/')}`} />;
  const nav = (target: string, label: string) => (
    <a href={href(`/${target}`)} class={page === target ? 'active' : ''}>{label}</a>
  );
  return (
    <>
      <nav class="top">
        <a class="brand" href={href('/builds')}>kiln</a>
        {nav('builds', 'Builds')}
        {nav('performance', 'Performance')}
        {nav('projects', 'Projects')}
        {nav('settings', 'Settings')}
        <button type="button" class="link right" onClick={onLogout}>Sign out</button>
      </nav>
      <main>
        <Boundary resetKey={location.hash}>{body}</Boundary>
      </main>
    </>
  );
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => !!settings.token());
  if (!signedIn) return <LoginPage onLogin={() => setSignedIn(true)} />;
  return <Shell onLogout={() => { settings.setToken(null); setSignedIn(false); }} />;
}
