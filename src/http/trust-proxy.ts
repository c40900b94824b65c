import { BlockList, isIP } from 'node:net';

/**
 * CCAUTH_TRUST_PROXY: which peers may tell us who the client is (X-Forwarded-For/-Proto/-Host).
 * `false` (default): nobody, the client is the socket's peer. A hop count N: the N nearest hops
 * (the socket's peer and N-1 addresses of X-Forwarded-For from the right) are our proxies, so the
 * client is the address just before them. `true` means 1 hop: one proxy in front of us. A list of
 * addresses and CIDR ranges (and `loopback`, `linklocal`, `uniquelocal`): a hop is trusted when
 * its address is in the list. The left-most X-Forwarded-For is never believed just for being first.
 */
export type TrustProxy = false | number | string[];

/** Fastify's (and proxy-addr's) trust function: whether the hop at `index` (0 = socket peer) is a proxy of ours. */
export type TrustFunction = (address: string, index: number) => boolean;

const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Parse the setting; a message for the first entry that is not an address, a range or a name. */
export function parseTrustProxy(value: boolean | number | string): TrustProxy | { error: string } {
  if (typeof value === 'boolean') return value ? 1 : false;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 100 ? value || false : { error: 'a hop count is 0..100' };
  const s = value.trim().toLowerCase();
  if (['', 'false', 'no', 'off'].includes(s)) return false;
  if (['true', 'yes', 'on'].includes(s)) return 1;
  if (/^\d+$/.test(s)) return parseTrustProxy(Number(s));
  const entries = s.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    if (NAMED[entry]) continue;
    if (!cidr(entry)) return { error: `"${entry}" is not an IP address, a CIDR range (e.g. 10.0.0.0/8) or one of loopback, linklocal, uniquelocal` };
  }
  return entries;
}

function cidr(entry: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, ...more] = entry.split('/');
  if (more.length) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, type: version === 4 ? 'ipv4' : 'ipv6' };
}

/** IPv4-mapped IPv6 (`::ffff:10.0.0.1`, as a dual-stack socket reports it) is the IPv4 address. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? (m[1] as string) : address;
}

/** The trust function of a setting, given to Fastify and used by the upstream proxy alike. */
export function trustFunction(setting: TrustProxy): TrustFunction {
  if (setting === false) return () => false;
  if (typeof setting === 'number') return (_address, index) => index < setting;
  const list = new BlockList();
  for (const entry of setting.flatMap((e) => NAMED[e] ?? [e])) {
    const range = cidr(entry) as NonNullable<ReturnType<typeof cidr>>;
    list.addSubnet(range.address, range.prefix, range.type);
  }
  return (address) => {
    const a = unmapped(address);
    const version = isIP(a);
    return version !== 0 && list.check(a, version === 4 ? 'ipv4' : 'ipv6');
  };
}
