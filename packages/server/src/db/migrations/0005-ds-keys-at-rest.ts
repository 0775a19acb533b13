import type { Kysely } from 'kysely';

// Frozen. DS private keys are encrypted at rest under a master key kept outside the database. The
// column is renamed for what it holds from now on, and each row records the id of the master key
// it is encrypted under. A migration has no key, so rows stay in clear here with a null id; DS
// encrypts them at its next start, in one transaction, before it uses them.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('ds_keys').renameColumn('private_jwk', 'encrypted_private_jwk').execute();
  await db.schema.alterTable('ds_keys').addColumn('master_key_id', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
