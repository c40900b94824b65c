import { type KeyboardEvent, useId, useRef, useState } from 'react';
import type { Snippet } from '../snippets';
import { copyText } from './CopyField';
import { CheckIcon, CopyIcon } from './Icons';

/** Code examples in tabs (arrow keys move between them), each with a copy button. */
export function Snippets({ items, label = 'Code examples' }: { items: Snippet[]; label?: string }) {
  const [active, setActive] = useState(0);
  const [copied, setCopied] = useState<string | null>(null);
  const base = useId();
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const current = items[Math.min(active, items.length - 1)];

  function onKey(event: KeyboardEvent<HTMLButtonElement>) {
    let next: number | null = null;
    if (event.key === 'ArrowRight') next = (active + 1) % items.length;
    else if (event.key === 'ArrowLeft') next = (active - 1 + items.length) % items.length;
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = items.length - 1;
    if (next === null) return;
    event.preventDefault();
    setActive(next);
    tabs.current[next]?.focus();
  }

  if (!current) return null;
  return (
    <div className="snippets">
      <div role="tablist" aria-label={label} className="snippet-tabs">
        {items.map((item, index) => (
          <button
            key={item.id}
            ref={(el) => {
              tabs.current[index] = el;
            }}
            type="button"
            role="tab"
            id={`${base}-tab-${item.id}`}
            aria-selected={index === active}
            aria-controls={`${base}-panel`}
            tabIndex={index === active ? 0 : -1}
            className="snippet-tab"
            onClick={() => setActive(index)}
            onKeyDown={onKey}
          >
            {item.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${current.id}`} className="snippet-panel">
        <button
          type="button"
          className="button button-secondary button-small snippet-copy"
          aria-label={`Copy the ${current.label} example`}
          onClick={async () => {
            const ok = await copyText(current.code);
            setCopied(ok ? current.id : null);
            if (ok) window.setTimeout(() => setCopied(null), 2000);
          }}
        >
          {copied === current.id ? <CheckIcon /> : <CopyIcon />}
          {copied === current.id ? 'Copied' : 'Copy'}
        </button>
        <pre className="code" tabIndex={0} aria-label={`${current.label} example`}>
          <code data-language={current.language}>{current.code}</code>
        </pre>
        <p className="visually-hidden" role="status" aria-live="polite">
          {copied === current.id ? `${current.label} example copied to the clipboard` : ''}
        </p>
      </div>
    </div>
  );
}
