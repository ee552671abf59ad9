// A modal form: its fields, Cancel and a submit button. While the submit runs the button waits;
// a refusal from the server shows its message inside the dialog, success closes it.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../state/store';

/** The message to show for a failed call: the server's sentence, or a generic one. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? error.message : 'Something went wrong.';
}

export function FormDialog(props: {
  title: string;
  submitLabel: string;
  danger?: boolean;
  onSubmit(): Promise<void>;
  onClose(): void;
  children: ComponentChildren;
}) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onSubmit();
      props.onClose();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  };

  return (
    <div class="dialog-backdrop" role="dialog" aria-modal="true" aria-label={props.title} onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <form
        class="dialog"
        aria-label={props.title}
        onSubmit={submit}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.stopPropagation();
            props.onClose();
          }
        }}
      >
        <h2>{props.title}</h2>
        {props.children}
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="button" class="ghost" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'primary danger-fill' : 'primary'} disabled={busy}>
            {props.submitLabel}
          </button>
        </div>
      </form>
    </div>
  );
}
