// Container HEALTHCHECK for paygate-relay: exit 0 when GET /healthz answers 200, else 1.
// node:20-slim has no curl/wget, so this runs with the image's own node.
//
//   HEALTHCHECK_URL  full URL to probe (no fallback), e.g. http://127.0.0.1:8080/healthz
//   PORT             callback port when HEALTHCHECK_URL is unset (default 8443)
//
// Without HEALTHCHECK_URL it tries https://127.0.0.1:$PORT/healthz first (listen.tls set),
// then http:// on the same port (TLS terminated in front of the relay). The certificate is
// not verified: it is issued for the public host name, not 127.0.0.1, and this only asks
// "is the process answering".
import http from 'node:http';
import https from 'node:https';

const TIMEOUT_MS = 4000;

function probe(url) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.get(u, { timeout: TIMEOUT_MS, rejectUnauthorized: false, headers: { 'user-agent': 'paygate-relay-healthcheck' } }, (res) => {
      res.resume();
      resolve({ ok: res.statusCode === 200, detail: `${url} -> ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms`)));
    req.on('error', (err) => resolve({ ok: false, detail: `${url} -> ${err.code ?? err.message}`, tlsMismatch: isTlsMismatch(err) }));
  });
}

// A plain-HTTP server answering a TLS ClientHello shows up as one of these.
function isTlsMismatch(err) {
  return ['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ECONNRESET', 'ERR_SSL_PACKET_LENGTH_TOO_LONG'].includes(err.code) || /wrong version number|packet length too long/i.test(err.message);
}

async function main() {
  if (process.env.HEALTHCHECK_URL) return probe(process.env.HEALTHCHECK_URL);
  const port = process.env.PORT || '8443';
  const first = await probe(`https://127.0.0.1:${port}/healthz`);
  if (first.ok || !first.tlsMismatch) return first;
  return probe(`http://127.0.0.1:${port}/healthz`);
}

const result = await main();
(result.ok ? process.stdout : process.stderr).write(`${result.ok ? 'healthy' : 'unhealthy'}: ${result.detail}\n`);
process.exit(result.ok ? 0 : 1);
