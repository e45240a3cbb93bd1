/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/model', '<rootDir>/properties', '<rootDir>/harness', '<rootDir>/cli', '<rootDir>/kvm', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
};
