import { type ReactNode, type RefObject, useEffect, useId, useRef } from 'react';

interface DialogProps {
  title: string;
  children: ReactNode;
  /** Closing by Escape calls this; leave it out where closing would lose something (the one-time secret). */
  onDismiss?: () => void;
  /** Element to focus when the dialog opens; else the first focusable element in the body. */
  initialFocus?: RefObject<HTMLElement | null>;
  /** Where focus goes when the dialog closes; else the element that had focus when it opened. */
  returnFocus?: RefObject<HTMLElement | null>;
  role?: 'dialog' | 'alertdialog';
  size?: 'small' | 'medium' | 'large';
  describedBy?: string;
  className?: string;
}

/**
 * A modal dialog on the native <dialog> element: showModal() makes the rest of the page inert and
 * keeps focus inside; focus goes back to where it came from on close.
 */
export function Dialog({ title, children, onDismiss, initialFocus, returnFocus, role = 'dialog', size = 'medium', describedBy, className }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const dismissRef = useRef(onDismiss);
  dismissRef.current = onDismiss;
  const returnRef = useRef(returnFocus);
  returnRef.current = returnFocus;

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const target = initialFocus?.current ?? dialog.querySelector<HTMLElement>('[data-autofocus]') ?? dialog.querySelector<HTMLElement>('.dialog-body input, .dialog-body button, .dialog-body select, .dialog-body textarea, .dialog-footer button');
    target?.focus();
    return () => {
      if (dialog.open) dialog.close();
      const back = returnRef.current?.current ?? opener;
      // After React has finished removing/adding elements of this commit.
      queueMicrotask(() => {
        if (back && back.isConnected && !document.querySelector('dialog[open]')) back.focus();
      });
    };
    // Runs once per opening; initialFocus is read at open time only.
  }, []);

  return (
    <dialog
      ref={ref}
      role={role}
      aria-modal="true"
      aria-labelledby={titleId}
      aria-describedby={describedBy}
      className={`dialog dialog-${size}${className ? ` ${className}` : ''}`}
      onKeyDown={(event) => {
        if (event.key !== 'Escape') return;
        // Handle Escape ourselves so the browser never closes the dialog behind React's back.
        event.preventDefault();
        event.stopPropagation();
        dismissRef.current?.();
      }}
      onCancel={(event) => {
        event.preventDefault();
        dismissRef.current?.();
      }}
      onClose={() => {
        // Closed by the browser while still mounted (e.g. a repeated close request): reopen.
        const dialog = ref.current;
        if (dialog && dialog.isConnected && !dialog.open) {
          if (dismissRef.current) dismissRef.current();
          else dialog.showModal();
        }
      }}
    >
      <div className="dialog-header">
        <h2 id={titleId} className="dialog-title">
          {title}
        </h2>
      </div>
      {children}
    </dialog>
  );
}
