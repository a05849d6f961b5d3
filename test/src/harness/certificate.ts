// A throwaway self-signed certificate for localhost and 127.0.0.1, made by openssl for a test: it
// guards nothing and expires in a day.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Writes cert.pem and key.pem into `dir` and returns their paths. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}
