// Labelled inputs for the account forms, each with its error under it when there is one (tied
// to the input for screen readers, and marking it invalid), and a hint when there is none.

export interface FieldProps {
  id: string;
  label: string;
  value: string;
  set(value: string): void;
  error?: string;
  hint?: string;
  autocomplete?: string;
  required?: boolean;
  maxLength?: number;
  placeholder?: string;
}

function Field(props: FieldProps & { type: 'text' | 'email' | 'password' }) {
  const errorId = `${props.id}-error`;
  const hintId = `${props.id}-hint`;
  const describedBy = props.error ? errorId : props.hint ? hintId : undefined;
  // Spread into one <input> per type: the JSX types tie what an input takes to its literal type.
  const common = {
    id: props.id,
    required: props.required,
    maxLength: props.maxLength,
    placeholder: props.placeholder,
    autocomplete: props.autocomplete,
    value: props.value,
    'aria-invalid': props.error ? ('true' as const) : undefined,
    'aria-describedby': describedBy,
    onInput: (e: Event) => props.set((e.target as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.type === 'password' ? <input type="password" {...common} /> : props.type === 'email' ? <input type="email" {...common} /> : <input type="text" {...common} />}
      {props.error ? (
        <span class="field-error" id={errorId} role="alert">
          {props.error}
        </span>
      ) : (
        props.hint && (
          <small class="hint-left" id={hintId}>
            {props.hint}
          </small>
        )
      )}
    </div>
  );
}

export function TextField(props: FieldProps) {
  return <Field {...props} type="text" />;
}

export function EmailField(props: FieldProps) {
  return <Field {...props} type="email" />;
}

export function PasswordField(props: FieldProps) {
  return <Field {...props} type="password" required={props.required ?? true} />;
}
