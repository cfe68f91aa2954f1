/** The client registered with the oidc-provider baseline. */
export const OIDC_CLIENT = { id: 'bench-client', secret: 'bench-client-secret-0123456789abcdef' };
