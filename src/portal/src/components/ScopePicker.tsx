import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import type { Scope } from '../api';

interface ScopePickerProps {
  /** Id of the visible "Scopes" label. */
  labelId: string;
  /** The scopes the user may grant (from GET /admin/api/scopes). */
  available: Scope[];
  value: string[];
  onChange(value: string[]): void;
  describedBy?: string;
  invalid?: boolean;
}

/**
 * The Scopes list: selected scopes as chips with an x to remove each; a button opens the list of the
 * other grantable scopes, each shown by its portal description; clicking one adds it.
 */
export function ScopePicker({ labelId, available, value, onChange, describedBy, invalid }: ScopePickerProps) {
  const [open, setOpen] = useState(false);
  const listId = useId();
  const toggleTextId = useId();
  const toggleRef = useRef<HTMLButtonElement>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const pendingFocus = useRef<{ kind: 'option'; index: number } | { kind: 'toggle' } | { kind: 'chip'; index: number } | null>(null);

  const byValue = new Map(available.map((s) => [s.value, s]));
  const options = available.filter((s) => !value.includes(s.value));

  useEffect(() => {
    const want = pendingFocus.current;
    if (!want) return;
    pendingFocus.current = null;
    if (want.kind === 'toggle') toggleRef.current?.focus();
    else if (want.kind === 'option') {
      const buttons = listRef.current?.querySelectorAll<HTMLButtonElement>('button');
      if (buttons && buttons.length > 0) buttons[Math.min(want.index, buttons.length - 1)]?.focus();
      else toggleRef.current?.focus();
    } else {
      const chips = rootRef.current?.querySelectorAll<HTMLButtonElement>('.chip-remove');
      if (chips && chips.length > 0) chips[Math.min(want.index, chips.length - 1)]?.focus();
      else toggleRef.current?.focus();
    }
  });

  useEffect(() => {
    if (!open) return;
    // On click (not pointerdown): closing the list moves what is below it, and a click that
    // started on a button there must still land on that button.
    const onClick = (event: MouseEvent) => {
      // composedPath: the path at dispatch time, even if React has since removed the clicked option.
      if (rootRef.current && !event.composedPath().includes(rootRef.current)) setOpen(false);
    };
    document.addEventListener('click', onClick);
    return () => document.removeEventListener('click', onClick);
  }, [open]);

  function add(scope: string, index: number) {
    onChange([...value, scope]);
    const remaining = options.length - 1;
    if (remaining === 0) {
      setOpen(false);
      pendingFocus.current = { kind: 'toggle' };
    } else {
      pendingFocus.current = { kind: 'option', index };
    }
  }

  function remove(scope: string, index: number) {
    onChange(value.filter((v) => v !== scope));
    pendingFocus.current = value.length > 1 ? { kind: 'chip', index: Math.max(0, index - (index === value.length - 1 ? 1 : 0)) } : { kind: 'toggle' };
  }

  function onListKeyDown(event: KeyboardEvent<HTMLUListElement>) {
    const buttons = Array.from(listRef.current?.querySelectorAll<HTMLButtonElement>('button') ?? []);
    const current = buttons.indexOf(document.activeElement as HTMLButtonElement);
    let next: number | null = null;
    if (event.key === 'ArrowDown') next = current < 0 ? 0 : Math.min(buttons.length - 1, current + 1);
    else if (event.key === 'ArrowUp') next = current <= 0 ? -1 : current - 1;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = buttons.length - 1;
    else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      setOpen(false);
      toggleRef.current?.focus();
      return;
    } else return;
    event.preventDefault();
    if (next === -1) toggleRef.current?.focus();
    else if (next !== null) buttons[next]?.focus();
  }

  return (
    <div
      className={`scope-picker${invalid ? ' is-invalid' : ''}`}
      ref={rootRef}
      role="group"
      aria-labelledby={labelId}
      aria-describedby={describedBy}
    >
      {value.length > 0 ? (
        <ul className="chips" aria-label="Selected scopes">
          {value.map((v, index) => {
            const scope = byValue.get(v);
            const label = scope?.description ?? v;
            return (
              <li key={v} className="chip">
                <span className="chip-text">
                  {label}
                  {scope ? <code className="chip-value">{v}</code> : null}
                </span>
                <button type="button" className="chip-remove" aria-label={`Remove ${label}`} title={`Remove ${label}`} onClick={() => remove(v, index)}>
                  <span aria-hidden="true">×</span>
                </button>
              </li>
            );
          })}
        </ul>
      ) : (
        <p className="chips-empty">No scopes selected yet.</p>
      )}
      <button
        ref={toggleRef}
        type="button"
        className="scope-toggle"
        aria-expanded={open}
        aria-controls={listId}
        aria-labelledby={`${labelId} ${toggleTextId}`}
        aria-invalid={invalid || undefined}
        disabled={options.length === 0 && !open}
        onClick={() => {
          setOpen((o) => !o);
          if (!open) pendingFocus.current = null;
        }}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' && options.length > 0) {
            event.preventDefault();
            setOpen(true);
            pendingFocus.current = { kind: 'option', index: 0 };
          } else if (event.key === 'Escape' && open) {
            event.preventDefault();
            event.stopPropagation();
            setOpen(false);
          }
        }}
      >
        <span id={toggleTextId}>{options.length === 0 ? 'All available scopes added' : value.length === 0 ? 'Select scopes' : 'Add another scope'}</span>
        <span aria-hidden="true" className={`caret${open ? ' caret-open' : ''}`} />
      </button>
      {open && options.length > 0 ? (
        <ul id={listId} ref={listRef} className="scope-options" aria-label="Available scopes" onKeyDown={onListKeyDown}>
          {options.map((scope, index) => (
            <li key={scope.value}>
              <button type="button" className="scope-option" onClick={() => add(scope.value, index)}>
                <span className="scope-option-description">{scope.description}</span>
                <span className="scope-option-meta">
                  <code>{scope.value}</code>
                  {scope.apis.length > 0 ? <span> · {scope.apis.join(', ')}</span> : null}
                </span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
