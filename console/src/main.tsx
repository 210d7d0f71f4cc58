/** Entry: the connect page for /console/connect, the console for every other path. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ConsoleApp } from './app.tsx';
import { ConnectApp } from './pages/connect.tsx';
import { currentPath } from './router.tsx';
import './styles.css';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(<StrictMode>{currentPath() === '/connect' ? <ConnectApp /> : <ConsoleApp />}</StrictMode>);
}
