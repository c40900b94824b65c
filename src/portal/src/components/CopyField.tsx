import { useEffect, useId, useRef, useState } from 'react';
import { CheckIcon, CopyIcon } from './Icons';

/** Copies text to the clipboard; falls back to a selected hidden textarea where the API is unavailable. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the legacy path
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  (document.querySelector('dialog[open]') ?? document.body).appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

interface CopyFieldProps {
  label: string;
  value: string;
  /** Accessible name of the copy button, e.g. "Copy client secret". */
  copyLabel: string;
  secret?: boolean;
}

/** A read-only value with its label and a copy button; announces the result politely. */
export function CopyField({ label, value, copyLabel, secret }: CopyFieldProps) {
  const id = useId();
  const [status, setStatus] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  async function onCopy() {
    const ok = await copyText(value);
    setStatus(ok ? 'copied' : 'failed');
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setStatus('idle'), 2500);
  }

  return (
    <div className="field copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-row">
        <input
          id={id}
          className={`input mono${secret ? ' secret-value' : ''}`}
          type="text"
          readOnly
          value={value}
          spellCheck={false}
          autoComplete="off"
          onFocus={(event) => event.currentTarget.select()}
        />
        <button type="button" className="button button-secondary copy-button" aria-label={copyLabel} onClick={onCopy}>
          {status === 'copied' ? <CheckIcon /> : <CopyIcon />}
          {status === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      <p className="visually-hidden" role="status" aria-live="polite">
        {status === 'copied' ? `${label} copied to the clipboard` : status === 'failed' ? `Could not copy the ${label.toLowerCase()}; select it and copy it yourself` : ''}
      </p>
    </div>
  );
}
