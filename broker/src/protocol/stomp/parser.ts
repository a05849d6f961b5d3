// Incremental STOMP frame parser. (Being written.)
import type { BrokerError } from '../../errors.js';
import type { StompFrame, StompLimits, StompVersion } from './frame.js';

export interface StompParserOptions {
  limits?: Partial<StompLimits>;
  onFrame: (frame: StompFrame) => void;
  onError: (error: BrokerError) => void;
  onHeartbeat?: () => void;
}

export class StompParser {
  version: StompVersion = '1.0';
  constructor(private readonly options: StompParserOptions) {}
  push(chunk: Buffer): void {
    void chunk;
    void this.options;
  }
}
