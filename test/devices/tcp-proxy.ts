/**
 * A TCP proxy that pulls the cable: it forwards a client to a device's sshd and closes both sockets
 * once `dropAfterBytes` bytes went from the client to the server (e.g. mid-upload).
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export interface CutProxy {
  readonly host: string;
  readonly port: number;
  /** Resolves when a connection was cut, with the client→server bytes forwarded before the cut. */
  readonly cut: Promise<{ bytes: number }>;
  /** Stops listening and closes every connection. */
  stop(): Promise<void>;
}

export interface CutProxyOptions {
  readonly targetHost: string;
  readonly targetPort: number;
  /** Client→server bytes forwarded per connection before it is cut; Infinity forwards everything. */
  readonly dropAfterBytes: number;
  /** Default 127.0.0.1. */
  readonly listenHost?: string;
}

const proxies = new Set<CutProxy>();

export async function startCutProxy(options: CutProxyOptions): Promise<CutProxy> {
  const sockets = new Set<Socket>();
  let reportCut: (value: { bytes: number }) => void = () => {};
  const cut = new Promise<{ bytes: number }>((resolve) => (reportCut = resolve));
  const server = createServer((client) => {
    const upstream = connect(options.targetPort, options.targetHost);
    sockets.add(client).add(upstream);
    let forwarded = 0;
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      const room = options.dropAfterBytes - forwarded;
      if (chunk.byteLength < room) {
        forwarded += chunk.byteLength;
        upstream.write(chunk);
        return;
      }
      const last = chunk.subarray(0, Math.max(0, room));
      forwarded += last.byteLength;
      upstream.write(last, () => {
        closeBoth();
        reportCut({ bytes: forwarded });
      });
      client.pause();
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  });
  const host = options.listenHost ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const proxy: CutProxy = {
    host,
    port,
    cut,
    stop: () =>
      new Promise<void>((resolve) => {
        proxies.delete(proxy);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  proxies.add(proxy);
  return proxy;
}

/** Stops every proxy this process started (for afterAll). */
export async function stopAllProxies(): Promise<void> {
  await Promise.all([...proxies].map((proxy) => proxy.stop()));
}
