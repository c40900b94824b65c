import { type KeyboardEvent, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';

export interface MenuAction {
  label: string;
  /** Called with the menu button, where focus should return after whatever the action opens. */
  onSelect(trigger: HTMLElement): void;
  danger?: boolean;
}

interface ActionsMenuProps {
  /** Accessible name of the menu button, e.g. "Actions for Wallboard". */
  label: string;
  actions: MenuAction[];
}

const ITEM_HEIGHT = 38;

/** A menu button (WAI-ARIA menu button pattern): Enter/Space/ArrowDown open it, arrows move, Escape closes. */
export function ActionsMenu({ label, actions }: ActionsMenuProps) {
  const [open, setOpen] = useState(false);
  const [position, setPosition] = useState<{ top?: number; bottom?: number; right: number }>({ right: 0 });
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLUListElement>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const focusOn = useRef<'first' | 'last'>('first');
  const menuId = useId();

  /** Places the menu at its button (below it, or above where there is no room); false when the button is off the screen. */
  function place(): boolean {
    const button = buttonRef.current;
    if (!button) return false;
    const rect = button.getBoundingClientRect();
    if (rect.bottom < 0 || rect.top > window.innerHeight) return false;
    const height = actions.length * ITEM_HEIGHT + 10;
    const right = Math.max(8, window.innerWidth - rect.right);
    setPosition(rect.bottom + height + 8 > window.innerHeight && rect.top > height + 8 ? { bottom: window.innerHeight - rect.top + 4, right } : { top: rect.bottom + 4, right });
    return true;
  }

  function show(focus: 'first' | 'last') {
    if (!place()) return;
    focusOn.current = focus;
    setOpen(true);
  }

  function hide(returnFocus: boolean) {
    setOpen(false);
    if (returnFocus) buttonRef.current?.focus();
  }

  useLayoutEffect(() => {
    if (!open) return;
    const items = menuRef.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]');
    if (!items || items.length === 0) return;
    // preventScroll: a scroll closes the menu, and focusing an item near the screen's edge would scroll.
    (focusOn.current === 'first' ? items[0] : items[items.length - 1])?.focus({ preventScroll: true });
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const onClick = (event: MouseEvent) => {
      if (rootRef.current && !event.composedPath().includes(rootRef.current)) setOpen(false);
    };
    // The page scrolled or resized: the menu follows its button, and closes once the button leaves the screen.
    const onMove = () => {
      if (!place()) setOpen(false);
    };
    document.addEventListener('click', onClick);
    window.addEventListener('resize', onMove);
    window.addEventListener('scroll', onMove, true);
    return () => {
      document.removeEventListener('click', onClick);
      window.removeEventListener('resize', onMove);
      window.removeEventListener('scroll', onMove, true);
    };
  }, [open]);

  function onMenuKeyDown(event: KeyboardEvent<HTMLUListElement>) {
    const items = Array.from(menuRef.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]') ?? []);
    const current = items.indexOf(document.activeElement as HTMLButtonElement);
    let next: number | null = null;
    switch (event.key) {
      case 'ArrowDown':
        next = (current + 1) % items.length;
        break;
      case 'ArrowUp':
        next = (current - 1 + items.length) % items.length;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = items.length - 1;
        break;
      case 'Escape':
        event.preventDefault();
        event.stopPropagation();
        hide(true);
        return;
      case 'Tab':
        setOpen(false);
        return;
      default: {
        // Type-ahead: the first item starting with the typed letter.
        if (event.key.length === 1 && /\S/.test(event.key)) {
          const i = items.findIndex((item) => item.textContent?.trim().toLowerCase().startsWith(event.key.toLowerCase()));
          if (i >= 0) next = i;
        }
      }
    }
    if (next !== null) {
      event.preventDefault();
      items[next]?.focus();
    }
  }

  if (actions.length === 0) return null;
  return (
    <div className="menu-root" ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        className={`icon-button menu-button${open ? ' is-open' : ''}`}
        aria-label={label}
        title="Actions"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => (open ? hide(false) : show('first'))}
        onKeyDown={(event) => {
          if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
            event.preventDefault();
            show(event.key === 'ArrowDown' ? 'first' : 'last');
          }
        }}
      >
        <svg aria-hidden="true" width="16" height="16" viewBox="0 0 16 16" fill="currentColor">
          <circle cx="8" cy="3" r="1.5" />
          <circle cx="8" cy="8" r="1.5" />
          <circle cx="8" cy="13" r="1.5" />
        </svg>
      </button>
      {open ? (
        <ul id={menuId} ref={menuRef} role="menu" aria-label={label} className="menu" style={{ top: position.top, bottom: position.bottom, right: position.right }} onKeyDown={onMenuKeyDown}>
          {actions.map((action) => (
            <li key={action.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                className={`menu-item${action.danger ? ' menu-item-danger' : ''}`}
                onClick={() => {
                  const trigger = buttonRef.current;
                  setOpen(false);
                  if (trigger) action.onSelect(trigger);
                }}
              >
                {action.label}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
