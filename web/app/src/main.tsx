// Entry point: take the token from the link, then mount the app.
import { render } from 'preact';
import { App } from './app';
import { captureToken } from './lib/auth';
import './style.css';

captureToken();
render(<App />, document.getElementById('app')!);
