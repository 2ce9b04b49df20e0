// Who is acting: the authenticated user and, when the call names one, the team whose
// resources they act on. The core checks team membership on every call.
export interface Actor {
  userId: string;
  email?: string;
  /** Act on this team's account instead of the user's own; membership is verified. */
  teamId?: string;
}
