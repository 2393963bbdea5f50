// Kept in step with package.json by hand at release time; the API reports it at /api/v1/version.
export const VERSION = '0.1.0';
