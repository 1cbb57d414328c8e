/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
  // Network-namespace tests create and delete their own namespaces; two workers match the 2-core CI machine.
  maxWorkers: 2,
};
