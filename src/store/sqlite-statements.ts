import type Database from 'better-sqlite3';

/** The embedded store's connection with its prepared statements, cached by SQL text; the adapter's modules run on it. */
export class SqliteStatements {
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }
}
