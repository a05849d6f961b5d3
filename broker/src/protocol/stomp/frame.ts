// The STOMP frame as the codec produces and consumes it, independent of sockets.

export type StompVersion = '1.0' | '1.1' | '1.2';

/** Header order is kept; for repeated headers the first occurrence wins (STOMP 1.2 "Repeated Header Entries"). */
export interface StompFrame {
  command: string;
  headers: Array<[string, string]>;
  body: Buffer;
}

export function header(frame: Pick<StompFrame, 'headers'>, name: string): string | undefined {
  for (const [key, value] of frame.headers) if (key === name) return value;
  return undefined;
}

export interface StompLimits {
  /** Largest frame (headers and body), bytes. Default 10 MiB. */
  maxFrameSize: number;
  /** Most headers in one frame. Default 1000. */
  maxHeaders: number;
  /** Longest single header line (name, colon and value), bytes. Default 10 KiB. */
  maxHeaderLength: number;
}

export const DEFAULT_STOMP_LIMITS: StompLimits = {
  maxFrameSize: 10 * 1024 * 1024,
  maxHeaders: 1000,
  maxHeaderLength: 10 * 1024,
};
