// Plain HTTP requests to the admin API on loopback.
import http from 'node:http';

export interface AdminResponse {
  status: number;
  contentType: string;
  text: string;
  json<T = unknown>(): T;
}

export function adminRequest(port: number, path: string, method = 'GET'): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path, method, timeout: 5000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          contentType: String(response.headers['content-type'] ?? ''),
          text,
          json<T>(): T {
            return JSON.parse(text) as T;
          },
        }),
      );
    });
    request.on('timeout', () => request.destroy(new Error(`admin ${method} ${path} timed out`)));
    request.on('error', reject);
    request.end();
  });
}

export interface DestinationRow {
  destination: string;
  kind: string;
  depth: number;
  inFlight: number;
  consumers: number;
  enqueued: number;
  dequeued: number;
}

export async function destinationStats(port: number, destination: string): Promise<DestinationRow | undefined> {
  const response = await adminRequest(port, '/destinations');
  const { destinations } = response.json<{ destinations: DestinationRow[] }>();
  return destinations.find((row) => row.destination === destination);
}
