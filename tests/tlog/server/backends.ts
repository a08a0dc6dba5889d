/** Storage backends every log-server suite runs against. */
export const BACKENDS = ['sqlite'] as const;
