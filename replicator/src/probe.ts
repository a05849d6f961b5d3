// Asks the counterpart region who it is before a broker serves as primary: one hello marked as a
// probe per link URL, in turn, each with a short timeout. A replica welcomes it (serve); a primary
// or replica at a newer generation refuses it with the promotion that replaced this region (do not
// serve: rejoin as its replica); silence everywhere means the counterpart is unreachable (serve).
import WebSocket from 'ws';
import { openLinkSocket, type LinkTlsOptions } from './outbound-link.js';
import { PROTOCOL_VERSION, type LinkMessage, type Promotion } from './protocol.js';
import { decodeMessage, encodeMessage } from './protocol-codec.js';

export interface ProbeOptions {
  urls: readonly string[];
  token: string;
  region: string;
  generation: number;
  sender: string;
  tls?: LinkTlsOptions;
  /** Per URL. Default 1000 ms. */
  timeoutMs?: number;
}

export type ProbeAnswer =
  /** A replica answered: this region may serve as primary. */
  | { kind: 'replica'; url: string; region: string; generation: number }
  /** A newer generation answered: this region was replaced; `promotion` ended its generation. */
  | { kind: 'replaced'; url: string; region: string; generation: number; promotion: Promotion | undefined; code: string }
  /** A primary at this generation or an older one answered, or the link was refused for another reason. */
  | { kind: 'refused'; url: string; code: string; message: string; region?: string; generation?: number }
  | { kind: 'unreachable'; tried: string[] };

/** Probes the URLs in turn; the first that answers decides. */
export async function probeCounterpart(options: ProbeOptions): Promise<ProbeAnswer> {
  const tried: string[] = [];
  for (const url of options.urls) {
    tried.push(url);
    const answer = await probeOne(url, options).catch(() => undefined);
    if (answer !== undefined) return answer;
  }
  return { kind: 'unreachable', tried };
}

function probeOne(url: string, options: ProbeOptions): Promise<ProbeAnswer | undefined> {
  const timeoutMs = options.timeoutMs ?? 1000;
  return new Promise((resolve) => {
    const ws = openLinkSocket(url, options.tls ?? {}, { maxPayload: 1024 * 1024, handshakeTimeout: timeoutMs });
    let settled = false;
    const finish = (answer: ProbeAnswer | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'probe done');
      else ws.terminate();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    ws.on('open', () => {
      const hello: LinkMessage = {
        type: 'hello',
        version: PROTOCOL_VERSION,
        token: options.token,
        sender: options.sender,
        region: options.region,
        generation: options.generation,
        probe: true,
      };
      ws.send(encodeMessage(hello), { binary: true });
    });
    ws.on('message', (data: Buffer) => {
      let m: LinkMessage;
      try {
        m = decodeMessage(data);
      } catch {
        return finish(undefined);
      }
      finish(classify(url, m, options.generation));
    });
    ws.on('error', () => finish(undefined));
    ws.on('close', () => finish(undefined));
  });
}

function classify(url: string, m: LinkMessage, generation: number): ProbeAnswer | undefined {
  switch (m.type) {
    case 'welcome':
      return { kind: 'replica', url, region: m.region, generation: m.generation };
    case 'refusal':
      if (m.generation > generation && (m.code === 'TANDEM_ERR_REPLICATION_NOT_REPLICA' || m.code === 'TANDEM_ERR_REPLICATION_STALE_PRIMARY')) {
        return { kind: 'replaced', url, region: m.region, generation: m.generation, promotion: m.promotion, code: m.code };
      }
      return { kind: 'refused', url, code: m.code, message: m.message, region: m.region, generation: m.generation };
    case 'error':
      // BUSY: a replica with a sender already (this region's other broker, going away): a replica.
      if (m.code === 'TANDEM_ERR_REPLICATION_BUSY') return { kind: 'replica', url, region: '', generation: 0 };
      return { kind: 'refused', url, code: m.code, message: m.message };
    default:
      return undefined;
  }
}
