export const LICENSES = ['admin', 'supervisor', 'agent'] as const;
export type License = (typeof LICENSES)[number];

export const USER_STATUSES = ['active', 'disabled'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];
export const ACCOUNT_STATUSES = ['active', 'disabled'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const PRESENCES = ['Ready', 'Away', 'Extended Away', 'Logged Out'] as const;
export type Presence = (typeof PRESENCES)[number];
