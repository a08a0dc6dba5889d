/** Storage backends every log-server suite runs against. */
export const BACKENDS: readonly ('sqlite' | 'postgres')[] = [
  'sqlite',
  'postgres',
];
