// Entry point: mounts the app and checks the session cookie.

import { render } from 'preact';
import { App } from './ui/App';
import { restoreSession } from './state/store';
import './styles.css';

render(<App />, document.getElementById('app')!);
void restoreSession();
