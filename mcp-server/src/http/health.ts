// GET /livez and GET /readyz (the shape and the database checks are shared with the auth server,
// see @pictor/migrations/readiness). Ready also needs the issuer's signing keys: loaded, or
// fetched now — without them no token can be checked.
import type { Db } from '@pictor/platform/db';
import { probeRoutes, readinessCheck } from '@pictor/platform/readiness';
import type { TokenVerifier } from './token.ts';

export function healthProbes(db: Db, verifier: TokenVerifier) {
  return probeRoutes(
    readinessCheck(db, {
      jwks: async () => ((await verifier.keysLoaded()) ? 'ok' : 'unreachable'),
    }),
  );
}
