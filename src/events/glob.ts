// Event-type globs, as endpoints (`events`), the admin API and the console filter by them:
// dot-separated segments of [a-z0-9_*], where `*` matches within one segment only.
// One definition: the config schema, the HTTP filters and the storage adapters all test this.

export const EVENT_GLOB = /^[a-z0-9_*]+(\.[a-z0-9_*]+)*$/;

export function isEventGlob(s: string): boolean {
  return EVENT_GLOB.test(s);
}

/** `*` matches within one dot segment only: `mandate.*` matches `mandate.approved`, not `mandate.a.b`. A bare `*` matches every type. */
export function compileGlob(glob: string): RegExp {
  if (glob === '*') return /^/;
  const body = glob
    .split('.')
    .map((seg) => seg.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^.]*'))
    .join('\\.');
  return new RegExp(`^${body}$`);
}
