// The slice of oidc-provider 9's API this server uses (the package ships no types and
// @types/oidc-provider is not installed). Kept narrow on purpose: anything not declared here
// is not relied upon.
declare module 'oidc-provider' {
  import type Koa from 'koa';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AdapterPayload = Record<string, unknown> & {
    grantId?: string;
    userCode?: string;
    uid?: string;
    consumed?: unknown;
  };

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    [key: string]: unknown;
  }

  export interface Client {
    clientId: string;
    clientName?: string;
    clientUri?: string;
    redirectUris: string[];
    applicationType: 'web' | 'native';
    clientAuthMethod: string;
    grantTypeAllowed(type: string): boolean;
    noManage?: boolean;
    clientIdMetadataDocument?: boolean;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface InteractionDetails {
    uid: string;
    returnTo: string;
    exp: number;
    prompt: { name: 'login' | 'consent' | string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, string | string[] | undefined>;
    session?: { accountId: string; uid?: string };
    grantId?: string;
  }

  export interface InteractionResults {
    login?: { accountId: string; amr?: string[]; acr?: string; remember?: boolean; ts?: number };
    consent?: { grantId: string };
    error?: string;
    error_description?: string;
  }

  export interface Grant {
    jti: string;
    accountId: string;
    clientId: string;
    resources?: Record<string, string>;
    rejected?: { openid?: { scope?: string }; resources?: Record<string, string> };
    addOIDCScope(scope: string): void;
    rejectOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    rejectResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface Session {
    accountId?: string;
    grantIdFor(clientId: string): string | undefined;
    destroy(): Promise<void>;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg: string; kid?: string } };
  }

  /** The token being issued, as seen by extraTokenClaims and ttl helpers. */
  export interface IssuedToken {
    accountId?: string;
    clientId?: string;
    kind: string;
  }

  export interface RefreshToken extends IssuedToken {
    totalLifetime(): number;
    ttlPercentagePassed(): number;
    isSenderConstrained(): boolean;
  }

  export interface OIDCContext {
    route: string;
    provider: Provider;
    result?: InteractionResults;
    session?: Session;
    requestParamScopes: Set<string>;
    client?: Client;
    params?: Record<string, unknown>;
    entities: {
      Client?: Client;
      Grant?: Grant;
      RefreshToken?: RefreshToken;
      Account?: Account;
      [name: string]: unknown;
    };
  }

  export type ProviderContext = Koa.Context & { oidc: OIDCContext };

  export type Configuration = Record<string, unknown>;

  export class Provider extends Koa {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    readonly Grant: GrantConstructor;
    readonly Client: { find(id: string): Promise<Client | undefined> };
    readonly Session: { get(ctx: Koa.Context): Promise<Session> };
    readonly Interaction: { find(uid: string): Promise<{ uid: string; params: Record<string, unknown> } | undefined> };
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    urlFor(name: string, options?: Record<string, string>): string;
  }

  export class OIDCProviderError extends Error {
    constructor(status: number, message: string);
    error: string;
    error_description?: string;
    status: number;
    statusCode: number;
    expose: boolean;
  }

  type ErrorClass = new (description?: string, detail?: string) => OIDCProviderError;

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidTarget: ErrorClass;
    InvalidClientMetadata: ErrorClass;
    InvalidRequest: ErrorClass;
    InvalidClient: ErrorClass;
    AccessDenied: ErrorClass;
    SessionNotFound: ErrorClass;
    TemporarilyUnavailable: ErrorClass;
  };

  export default Provider;
}
