// The local emulators ship no type declarations; these cover what the local stack uses.
declare module 'dynalite' {
  import type { Server } from 'node:http';
  export default function dynalite(options?: Record<string, unknown>): Server;
}

declare module 's3rver' {
  import type { EventEmitter } from 'node:events';
  export default class S3rver extends EventEmitter {
    constructor(options: Record<string, unknown>);
    run(): Promise<import('node:net').AddressInfo>;
    close(): Promise<void>;
  }
}
