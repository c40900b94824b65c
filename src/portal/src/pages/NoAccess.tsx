import { useEffect, useRef } from 'react';
import type { Session } from '../api';
import { LockIcon, SwitchOffIcon } from '../components/Icons';
import { licenseLabel } from '../format';

/** What a user sees instead of the API Credentials area: the account switch is off, or the license has no access. */
export function NoAccess({ session }: { session: Session }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const switchedOff = session.access === 'api_credentials_disabled';
  useEffect(() => {
    document.title = 'Admin Portal';
    heading.current?.focus();
  }, []);

  return (
    <section className="empty-page" aria-labelledby="no-access-title">
      <div className="empty-icon" aria-hidden="true">
        {switchedOff ? <SwitchOffIcon size={44} /> : <LockIcon size={44} />}
      </div>
      {switchedOff ? (
        <>
          <h1 id="no-access-title" ref={heading} tabIndex={-1}>
            API access is not enabled for your account
          </h1>
          <p>
            API credentials are not available for <strong>{session.account.name}</strong>. To create API credentials and use the Contact Center APIs, contact support and ask
            them to enable API credentials for your account.
          </p>
        </>
      ) : (
        <>
          <h1 id="no-access-title" ref={heading} tabIndex={-1}>
            You don’t have access to this area
          </h1>
          <p>
            API credentials can be created by users with an admin or supervisor license. Your license is <strong>{licenseLabel(session.user.license)}</strong>. If you need
            API access, ask an administrator of <strong>{session.account.name}</strong>.
          </p>
        </>
      )}
    </section>
  );
}
