// Electron's main entry (package.json "main"): the app is TypeScript, run through tsx as the CLI is.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
