import type { Keyring } from '../domain/envelope.js';
import type { Store } from '../storage/repositories.js';

/**
 * Re-encrypts everything stored encrypted (revealable secrets, private signing keys, webhook
 * signing secrets) under the current key-encryption key. Only the small per-value data keys are re-wrapped. Values already
 * under the current key are left alone, so the command can be run again after an interruption.
 */
export async function rewrapAll(
  store: Store,
  keyring: Keyring,
  progress: (done: number, total: number) => void = () => {},
): Promise<{ rewrapped: number; unchanged: number }> {
  const secrets = await store.repos.keys.encryptedSecrets();
  const signingKeys = await store.repos.signingKeys.list();
  const webhookSecrets = await store.repos.webhookEndpoints.encryptedSecrets();
  const total = secrets.length + signingKeys.length + webhookSecrets.length;
  let rewrapped = 0;
  let unchanged = 0;
  let done = 0;
  const step = async (value: string, save: (v: string) => Promise<void>) => {
    const next = keyring.rewrap(value);
    if (next === null) unchanged++;
    else {
      await save(next);
      rewrapped++;
    }
    done++;
    if (done % 500 === 0 || done === total) progress(done, total);
  };
  for (const s of secrets) await step(s.secretEncrypted, (v) => store.repos.keys.setEncryptedSecret(s.id, v));
  for (const k of signingKeys) await step(k.privateKey, (v) => store.repos.signingKeys.setPrivateKey(k.id, v));
  for (const w of webhookSecrets) await step(w.value, (v) => store.repos.webhookEndpoints.setEncryptedSecret(w.id, w.column, v));
  if (total === 0) progress(0, 0);
  return { rewrapped, unchanged };
}
