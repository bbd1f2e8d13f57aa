// Processes the tests start (relays from dist/, the CLI, tools) do not need tap's
// process tracker: it only feeds coverage, which the suite does not collect, and
// loading it costs every child about half a second of CPU at start (0.95 s
// instead of 0.39 s for `paygate-relay --version` here). tap puts it in
// NODE_OPTIONS for children; drop it there, keep anything else.
const opts = process.env.NODE_OPTIONS;
if (opts?.includes('@tapjs/processinfo')) {
  // tap quotes the flag ("--import=file:///…/import.mjs"); a path with spaces stays one token.
  const rest = opts.replace(/"[^"]*@tapjs\/processinfo[^"]*"|\S*@tapjs\/processinfo\S*/g, '').trim();
  if (rest) process.env.NODE_OPTIONS = rest;
  else delete process.env.NODE_OPTIONS;
}
