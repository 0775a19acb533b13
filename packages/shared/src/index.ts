export * from './errors.js';
export * from './os.js';
export * from './digest.js';
export * from './schemas/common.js';
export * from './schemas/admin.js';
export * from './admin-client.js';
