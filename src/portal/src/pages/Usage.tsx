import { useEffect, useRef, useState } from 'react';
import { type Session, type Usage, api } from '../api';
import { BarChart } from '../components/BarChart';
import { UsageCharts } from '../components/UsageCharts';
import { href } from '../router';

const minuteLabel = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC', hourCycle: 'h23' });
const minuteFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' });
const minuteFull = (at: string) => `${minuteFormat.format(new Date(at))} UTC`;

/** The account's usage (admins, #/usage): totals over time, the top credentials, calls against the API limit, 429s. */
export function UsagePage({ session }: { session: Session }) {
  const [usage, setUsage] = useState<Usage | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    document.title = 'Usage · Admin Portal';
    headingRef.current?.focus();
  }, []);

  const items = usage?.items ?? [];
  const totals = items.reduce(
    (t, i) => ({
      tokens: t.tokens + i.tokensIssued,
      calls: t.calls + i.apiCalls,
      failures: t.failures + i.authFailures,
      limited: t.limited + (i.apiRejected?.['429'] ?? 0),
    }),
    { tokens: 0, calls: 0, failures: 0, limited: 0 },
  );
  // The last 60 minutes as the server counted them (GET /admin/api/usage perMinute), against the limit.
  const perMinute = usage?.perMinute ?? null;
  const peak = perMinute?.peak ?? null;
  const limit = perMinute?.limit ?? usage?.apiRateLimitPerMinute ?? session.account.apiRateLimitPerMinute ?? null;
  const share = limit && peak ? Math.min(100, (peak.apiCalls / limit) * 100) : null;

  return (
    <section aria-labelledby="usage-page-title" className="page">
      <div className="page-header">
        <div>
          <h1 id="usage-page-title" ref={headingRef} tabIndex={-1}>
            Usage
          </h1>
          <p className="page-lede">Tokens issued, API calls through the gateway and failures for every API credential of {session.account.name}.</p>
        </div>
        <a className="button button-secondary" href={href('events')}>
          Events
        </a>
      </div>

      <div className="stats" aria-label="Totals for the period">
        <div className="stat">
          <span className="stat-label">Tokens issued</span>
          <span className="stat-value">{totals.tokens}</span>
        </div>
        <div className="stat">
          <span className="stat-label">API calls</span>
          <span className="stat-value">{totals.calls}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Failed authentications</span>
          <span className="stat-value">{totals.failures}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Rate limited (429)</span>
          <span className="stat-value">{totals.limited}</span>
        </div>
      </div>

      <section className="panel panel-pad" aria-labelledby="limit-title">
        <h2 id="limit-title" className="section-title">
          API limit
        </h2>
        {perMinute && peak ? (
          <>
            <p>
              Peak in the last 60 minutes: <strong>{peak.apiCalls}</strong> API calls in the minute from {minuteFull(peak.at)}
              {limit ? (
                <>
                  {' '}
                  against the account’s limit of <strong>{limit}</strong> a minute
                </>
              ) : null}
              . {totals.limited > 0 ? `${totals.limited} requests were refused with 429 in this period.` : 'No request was refused with 429 in this period.'}
            </p>
            {share !== null ? (
              <div className="meter" role="meter" aria-label="Peak minute against the API limit" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(share)} aria-valuetext={`${Math.round(share)}% of the limit`}>
                <span className="meter-fill" style={{ width: `${share}%` }} />
              </div>
            ) : null}
          </>
        ) : (
          <p className="muted">
            {perMinute ? 'No API calls in the last 60 minutes' : 'No per-minute figures'}
            {limit ? `; the account’s limit is ${limit} a minute` : ''}. {totals.limited > 0 ? `${totals.limited} requests were refused with 429 in this period.` : ''}
          </p>
        )}
        {perMinute ? (
          <BarChart
            title="API calls per minute, last 60 minutes"
            series={[{ key: 'apiCalls', label: 'API calls', tone: 'primary' }]}
            rows={perMinute.items.map((i) => ({ at: i.at, values: { apiCalls: i.apiCalls } }))}
            formatLabel={(at) => minuteLabel.format(new Date(at))}
            formatFull={minuteFull}
            limit={{ value: perMinute.limit, label: `Limit ${perMinute.limit} a minute` }}
          />
        ) : null}
      </section>

      <section className="panel panel-pad" aria-labelledby="account-usage-title">
        <h2 id="account-usage-title" className="section-title">
          Over time
        </h2>
        <UsageCharts load={(bucket, from) => api.accountUsage(bucket, from)} onLoaded={setUsage} />
      </section>

      <section className="panel panel-pad" aria-labelledby="top-title">
        <h2 id="top-title" className="section-title">
          Top credentials
        </h2>
        {usage?.top && usage.top.length > 0 ? (
          <div className="table-wrap">
            <table className="table table-compact">
              <caption className="visually-hidden">Credentials with the most API calls in the period</caption>
              <thead>
                <tr>
                  <th scope="col">Credential</th>
                  <th scope="col">API calls</th>
                  <th scope="col">Tokens issued</th>
                </tr>
              </thead>
              <tbody>
                {usage.top.map((t) => (
                  <tr key={t.credentialId}>
                    <th scope="row">
                      <a href={href(`credentials/${encodeURIComponent(t.credentialId)}`)}>{t.name}</a>
                    </th>
                    <td>{t.apiCalls}</td>
                    <td>{t.tokensIssued}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">{usage ? 'No credential was used in this period.' : 'Nothing to show yet.'}</p>
        )}
      </section>
    </section>
  );
}
