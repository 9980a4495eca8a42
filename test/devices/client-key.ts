/** The devices' client key now lives with the product (the app's demo fleet uses it too). */
export * from '../../shared/fleet/local-devices/client-key.ts';
