#!/usr/bin/env node
// thukho runs its TypeScript sources directly through tsx: no build step to forget on a server.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
