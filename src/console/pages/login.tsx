import type { Html } from '../jsx-runtime.js';
import { Bare, type PageCtx } from '../ui.js';

export function LoginPage(props: { assets: PageCtx['assets']; nonce: string; next: string; ttlHours: number; error?: string; notice?: string }): Html {
  return (
    <Bare title="Log in" assets={props.assets}>
      <div class="login panel">
        <h1>paygate-relay console</h1>
        {props.error ? <p class="error-text" role="alert" data-testid="login-error">{props.error}</p> : null}
        {props.notice ? <p class="muted" role="status">{props.notice}</p> : null}
        <form method="post" action="/console/login">
          <input type="hidden" name="_login" value={props.nonce} />
          <input type="hidden" name="next" value={props.next} />
          <label>
            Admin token
            <input type="password" name="token" autocomplete="off" required autofocus data-testid="token" />
          </label>
          <button type="submit" class="primary" data-testid="login">Log in</button>
        </form>
        <p class="muted">Use a token from <code>admin.tokens</code>. The session lasts {props.ttlHours} hours and ends when the relay restarts.</p>
      </div>
    </Bare>
  );
}

export function ErrorPage(props: { assets: PageCtx['assets']; status: number; title: string; detail?: string; back?: string }): Html {
  return (
    <Bare title={props.title} assets={props.assets}>
      <div class="login panel">
        <h1>{props.status} · {props.title}</h1>
        {props.detail ? <p data-testid="error-detail">{props.detail}</p> : null}
        <p><a href={props.back ?? '/console'}>Back to the console</a></p>
      </div>
    </Bare>
  );
}
