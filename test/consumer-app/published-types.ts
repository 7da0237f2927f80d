/** Pulls in walsync's published type declarations so tsconfig.published-types.json checks them. */
export type * as walsync from 'walsync';
export type * as walsyncKysely from 'walsync/kysely';
