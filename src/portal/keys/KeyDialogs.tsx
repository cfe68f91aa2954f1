import { plural } from '../lib/format';
import type { Account, CredentialType, IssuedKey, Key, KeyCounts } from '../lib/types';
import { useToast } from '../components/widgets';
import { DeleteDialog, QuickstartDialog, RegenerateDialog, ResetDialog, SecretDialog, VerifyDialog, type SecretReason } from './dialogs';
import { KeyFormDialog, TYPE_LABEL, type KeyAction } from './KeyFormDialog';

/** Which dialog of a key's life is open, with what it shows. */
export type DialogState =
  | { type: 'create' }
  | { type: 'details'; key: Key }
  | { type: 'secret'; issued: IssuedKey; reason: SecretReason }
  | { type: 'quickstart'; key: Key; secret: string | null }
  | { type: 'verify'; key: Key }
  | { type: 'reset'; key: Key }
  | { type: 'regenerate'; key: Key }
  | { type: 'delete'; keys: Key[] };

/** The state a row action opens. */
export const dialogFor = (action: KeyAction, key: Key): DialogState => (action === 'quickstart' ? { type: 'quickstart', key, secret: null } : { type: action, key });

/** The open dialog of the keys page; `onChanged` is told when keys changed, so the list reloads. */
export function KeyDialogs({
  dialog,
  setDialog,
  credentialType,
  account,
  counts,
  onChanged,
  onDeleted,
}: {
  dialog: DialogState | null;
  setDialog: (dialog: DialogState | null) => void;
  credentialType: CredentialType;
  account: Account | null;
  counts: KeyCounts | null;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const toast = useToast();
  const afterIssued = (issued: IssuedKey, reason: SecretReason) => {
    setDialog({ type: 'secret', issued, reason });
    onChanged();
  };
  const openAction = (action: KeyAction, key: Key) => setDialog(dialogFor(action, key));
  const reload = onChanged;
  return (
    <>
      {dialog?.type === 'create' && (
        <KeyFormDialog
          mode="create"
          credentialType={credentialType}
          account={account}
          counts={counts}
          onClose={() => setDialog(null)}
          onCreated={(issued) => {
            toast(`${TYPE_LABEL[issued.key.credentialType]} “${issued.key.name}” created.`);
            afterIssued(issued, 'created');
          }}
        />
      )}
      {dialog?.type === 'details' && (
        <KeyFormDialog
          mode="edit"
          credentialType={dialog.key.credentialType}
          keyItem={dialog.key}
          account={account}
          counts={counts}
          onClose={() => setDialog(null)}
          onUpdated={(key) => {
            toast(`“${key.name}” saved.`);
            setDialog(null);
            reload();
          }}
          onAction={openAction}
        />
      )}
      {dialog?.type === 'secret' && (
        <SecretDialog issued={dialog.issued} reason={dialog.reason} onClose={() => setDialog(null)} onQuickstart={(key, secret) => setDialog({ type: 'quickstart', key, secret })} />
      )}
      {dialog?.type === 'quickstart' && <QuickstartDialog keyItem={dialog.key} initialSecret={dialog.secret} onClose={() => setDialog(null)} onActivated={reload} />}
      {dialog?.type === 'verify' && <VerifyDialog keyItem={dialog.key} onClose={() => setDialog(null)} />}
      {dialog?.type === 'reset' && <ResetDialog keyItem={dialog.key} onClose={() => setDialog(null)} onDone={(issued) => afterIssued(issued, 'reset')} />}
      {dialog?.type === 'regenerate' && <RegenerateDialog keyItem={dialog.key} onClose={() => setDialog(null)} onDone={(issued) => afterIssued(issued, 'regenerated')} />}
      {dialog?.type === 'delete' && (
        <DeleteDialog
          keys={dialog.keys}
          onClose={() => setDialog(null)}
          onDone={(deleted) => {
            toast(deleted.length === 1 ? `“${dialog.keys[0]!.name}” deleted.` : `${plural(deleted.length, 'key')} deleted.`);
            setDialog(null);
            onDeleted();
            reload();
          }}
        />
      )}
    </>
  );
}
