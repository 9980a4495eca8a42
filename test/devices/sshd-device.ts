/** The sshd device harness now lives with the product (the app's demo fleet uses it too). */
export * from '../../shared/fleet/local-devices/sshd-device.ts';
