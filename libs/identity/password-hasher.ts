import argon2 from 'argon2';

/** argon2id with the library's defaults (m=64 MiB, t=3, p=4), above OWASP's minimum. */
export class PasswordHasher {
  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  verify(hash: string, password: string): Promise<boolean> {
    return argon2.verify(hash, password);
  }
}
