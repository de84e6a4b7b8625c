import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server } from 'node:https';
import { createSecureContext, type SecureVersion } from 'node:tls';
import type { Logger } from '../logger.js';

export interface TlsOptions {
  certFile: string;
  keyFile: string;
  /** Lowest TLS version accepted. */
  minVersion: SecureVersion;
  /** How often the files are checked for a change, in ms. */
  reloadIntervalMs: number;
}

/**
 * TLS termination from a certificate and key on disk. The files are checked every
 * `reloadIntervalMs`; a changed pair that loads replaces the server's secure context for new
 * connections without a restart (certificate rotation); a pair that does not load is logged and
 * the one in service stays.
 */
export class TlsFiles {
  private current: { cert: Buffer; key: Buffer };
  private watched = false;

  constructor(
    private readonly options: TlsOptions,
    private readonly logger: Logger,
  ) {
    this.current = this.read();
    // Fail at start-up on a pair that does not match, not at the first handshake.
    createSecureContext({ ...this.current, minVersion: options.minVersion });
  }

  serverOptions(): { cert: Buffer; key: Buffer; minVersion: SecureVersion } {
    return { ...this.current, minVersion: this.options.minVersion };
  }

  watch(server: Server): void {
    const check = (): void => {
      let next: { cert: Buffer; key: Buffer };
      try {
        next = this.read();
        if (next.cert.equals(this.current.cert) && next.key.equals(this.current.key)) return;
        server.setSecureContext({ ...next, minVersion: this.options.minVersion });
      } catch (error) {
        this.logger.error({ certFile: this.options.certFile, err: (error as Error).message }, 'TLS certificate reload failed; the one in service stays');
        return;
      }
      this.current = next;
      this.logger.info({ certFile: this.options.certFile }, 'TLS certificate reloaded');
    };
    for (const file of [this.options.certFile, this.options.keyFile]) {
      watchFile(file, { interval: this.options.reloadIntervalMs, persistent: false }, check);
    }
    this.watched = true;
  }

  close(): void {
    if (!this.watched) return;
    unwatchFile(this.options.certFile);
    unwatchFile(this.options.keyFile);
  }

  private read(): { cert: Buffer; key: Buffer } {
    return { cert: readFileSync(this.options.certFile), key: readFileSync(this.options.keyFile) };
  }
}
