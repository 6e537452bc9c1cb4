export * from './object-store.js';
export { S3ObjectStore, type S3StoreSettings } from './s3-object-store.js';
export { StorageModule, createObjectStore } from './storage.module.js';
