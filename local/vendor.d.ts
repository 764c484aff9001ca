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
    /** The HTTP server `run()` creates. */
    httpServer?: import('node:http').Server;
  }
}

// s3rver's models, for local/s3-memory-store.ts: the objects its controllers expect from a store.
declare module 's3rver/lib/models/bucket.js' {
  export default class S3Bucket {
    constructor(name: string, creationDate: Date);
    name: string;
    creationDate: Date;
  }
}

declare module 's3rver/lib/models/object.js' {
  import type { Readable } from 'node:stream';
  export default class S3Object {
    static ALLOWED_METADATA: string[];
    constructor(
      bucket: string,
      key: string,
      content: Readable | null,
      metadata: Record<string, string | number>,
    );
    bucket: string;
    key: string;
    content: Readable | null;
    metadata: Record<string, string>;
    range?: { start: number; end: number };
    readonly size: number;
  }
}

declare module 's3rver/lib/models/config.js' {
  export function getConfigModel(
    type: string,
  ): new (
    xml: string,
  ) => { type: string; toXML(space?: number): string };
}
