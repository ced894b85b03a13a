var Se,C,ut,te,ze,pt,ht,xe,_e,le,_t,Le,Oe,Ae,ye={},ve=[],Ot=/acit|ex(?:s|g|n|p|$)|rph|grid|ows|mnc|ntw|ine[ch]|zoo|^ord|itera/i,Ie=Array.isArray;function X(e,t){for(var r in t)e[r]=t[r];return e}function qe(e){e&&e.parentNode&&e.parentNode.removeChild(e)}function At(e,t,r){var s,a,i,c={};for(i in t)i=="key"?s=t[i]:i=="ref"?a=t[i]:c[i]=t[i];if(arguments.length>2&&(c.children=arguments.length>3?Se.call(arguments,2):r),typeof e=="function"&&e.defaultProps!=null)for(i in e.defaultProps)c[i]===void 0&&(c[i]=e.defaultProps[i]);return me(e,c,s,a,null)}function me(e,t,r,s,a){var i={type:e,props:t,key:r,ref:s,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:a??++ut,__i:-1,__u:0};return a==null&&C.vnode!=null&&C.vnode(i),i}function Z(e){return e.children}function fe(e,t){this.props=e,this.context=t}function oe(e,t){if(t==null)return e.__?oe(e.__,e.__i+1):null;for(var r;t<e.__k.length;t++)if((r=e.__k[t])!=null&&r.__e!=null)return r.__e;return typeof e.type=="function"?oe(e):null}function Ct(e){if(e.__P&&e.__d){var t=e.__v,r=t.__e,s=[],a=[],i=X({},t);i.__v=t.__v+1,C.vnode&&C.vnode(i),He(e.__P,i,t,e.__n,e.__P.namespaceURI,32&t.__u?[r]:null,s,r??oe(t),!!(32&t.__u),a),i.__v=t.__v,i.__.__k[i.__i]=i,vt(s,i,a),t.__e=t.__=null,i.__e!=r&&mt(i)}}function mt(e){if((e=e.__)!=null&&e.__c!=null)return e.__e=e.__c.base=null,e.__k.some(function(t){if(t!=null&&t.__e!=null)return e.__e=e.__c.base=t.__e}),mt(e)}function Ge(e){(!e.__d&&(e.__d=!0)&&te.push(e)&&!be.__r++||ze!=C.debounceRendering)&&((ze=C.debounceRendering)||pt)(be)}function be(){try{for(var e,t=1;te.length;)te.length>t&&te.sort(ht),e=te.shift(),t=te.length,Ct(e)}finally{te.length=be.__r=0}}function ft(e,t,r,s,a,i,c,l,h,d,m){var f,o,p,_,w,b,k=s&&s.__k||ve,g=t.length;for(h=Rt(r,t,k,h,g),f=0;f<g;f++)(p=r.__k[f])!=null&&(o=p.__i!=-1&&k[p.__i]||ye,p.__i=f,b=He(e,p,o,a,i,c,l,h,d,m),_=p.__e,p.ref&&o.ref!=p.ref&&(o.ref&&Me(o.ref,null,p),m.push(p.ref,p.__c||_,p)),w==null&&_!=null&&(w=_),4&p.__u?(h=gt(p,h,e),o.__e&&(o.__e=null)):typeof p.type=="function"&&b!==void 0?h=b:_&&(h=_.nextSibling),p.__u&=-7);return r.__e=w,h}function Rt(e,t,r,s,a){var i,c,l,h,d,m=r.length,f=m,o=0;for(e.__k=new Array(a),i=0;i<a;i++)(c=t[i])!=null&&typeof c!="boolean"&&typeof c!="function"?(typeof c=="string"||typeof c=="number"||typeof c=="bigint"||c.constructor==String?c=e.__k[i]=me(null,c,null,null,null):Ie(c)?c=e.__k[i]=me(Z,{children:c},null,null,null):c.constructor===void 0&&c.__b>0?c=e.__k[i]=me(c.type,c.props,c.key,c.ref?c.ref:null,c.__v):e.__k[i]=c,h=i+o,c.__=e,c.__b=e.__b+1,l=null,(d=c.__i=Dt(c,r,h,f))!=-1&&(f--,(l=r[d])&&(l.__u|=2)),l==null||l.__v==null?(d==-1&&(a>m?o--:a<m&&o++),typeof c.type!="function"&&(c.__u|=4)):d!=h&&(d==h-1?o--:d==h+1?o++:(d>h?o--:o++,c.__u|=4))):e.__k[i]=null;if(f)for(i=0;i<m;i++)(l=r[i])!=null&&(2&l.__u)==0&&(l.__e==s&&(s=oe(l)),wt(l,l));return s}function gt(e,t,r){var s,a;if(typeof e.type=="function"){for(s=e.__k,a=0;s&&a<s.length;a++)s[a]&&(s[a].__=e,t=gt(s[a],t,r));return t}e.__e!=t&&(t&&e.type&&!t.parentNode&&(t=oe(e)),t=r.insertBefore(e.__e,t||null));do t=t&&t.nextSibling;while(t!=null&&t.nodeType==8);return t}function Dt(e,t,r,s){var a,i,c,l=e.key,h=e.type,d=t[r],m=d!=null&&(2&d.__u)==0;if(d===null&&l==null||m&&l==d.key&&h==d.type)return r;if(s>(m?1:0)){for(a=r-1,i=r+1;a>=0||i<t.length;)if((d=t[c=a>=0?a--:i++])!=null&&(2&d.__u)==0&&l==d.key&&h==d.type)return c}return-1}function Ke(e,t,r){t[0]=="-"?e.setProperty(t,r??""):e[t]=r==null?"":typeof r!="number"||Ot.test(t)?r:r+"px"}function he(e,t,r,s,a){var i,c;e:if(t=="style")if(typeof r=="string")e.style.cssText=r;else{if(typeof s=="string"&&(e.style.cssText=s=""),s)for(t in s)r&&t in r||Ke(e.style,t,"");if(r)for(t in r)s&&r[t]==s[t]||Ke(e.style,t,r[t])}else if(t[0]=="o"&&t[1]=="n")i=t!=(t=t.replace(_t,"$1")),c=t.toLowerCase(),t=c in e||t=="onFocusOut"||t=="onFocusIn"?c.slice(2):t.slice(2),e.l||(e.l={}),e.l[t+i]=r,r?s?r[le]=s[le]:(r[le]=Le,e.addEventListener(t,i?Ae:Oe,i)):e.removeEventListener(t,i?Ae:Oe,i);else{if(a=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{e[t]=r??"";break e}catch{}typeof r=="function"||(r==null||r===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&r==1?"":r))}}function Je(e){return function(t){if(this.l){var r=this.l[t.type+e];if(t[_e]==null)t[_e]=Le++;else if(t[_e]<r[le])return;return r(C.event?C.event(t):t)}}}function He(e,t,r,s,a,i,c,l,h,d){var m,f,o,p,_,w,b,k,g,S,R,P,T,v,E,B,u=t.type;if(t.constructor!==void 0)return null;128&r.__u&&(h=!!(32&r.__u),i=[l=t.__e=r.__e]),(m=C.__b)&&m(t);e:if(typeof u=="function"){f=c.length;try{if(g=t.props,S=u.prototype&&u.prototype.render,R=(m=u.contextType)&&s[m.__c],P=m?R?R.props.value:m.__:s,r.__c?k=(o=t.__c=r.__c).__=o.__E:(S?t.__c=o=new u(g,P):(t.__c=o=new fe(g,P),o.constructor=u,o.render=Ut),R&&R.sub(o),o.state||(o.state={}),o.__n=s,p=o.__d=!0,o.__h=[],o._sb=[]),S&&o.__s==null&&(o.__s=o.state),S&&u.getDerivedStateFromProps!=null&&(o.__s==o.state&&(o.__s=X({},o.__s)),X(o.__s,u.getDerivedStateFromProps(g,o.__s))),_=o.props,w=o.state,o.__v=t,p)S&&u.getDerivedStateFromProps==null&&o.componentWillMount!=null&&o.componentWillMount(),S&&o.componentDidMount!=null&&o.__h.push(o.componentDidMount);else{if(S&&u.getDerivedStateFromProps==null&&g!==_&&o.componentWillReceiveProps!=null&&o.componentWillReceiveProps(g,P),t.__v==r.__v||!o.__e&&o.shouldComponentUpdate!=null&&o.shouldComponentUpdate(g,o.__s,P)===!1){t.__v!=r.__v&&(o.props=g,o.state=o.__s,o.__d=!1),t.__e=r.__e,t.__k=r.__k,t.__k.some(function($){$&&($.__=t)}),ve.push.apply(o.__h,o._sb),o._sb=[],o.__h.length&&c.push(o),l=oe(r);break e}o.componentWillUpdate!=null&&o.componentWillUpdate(g,o.__s,P),S&&o.componentDidUpdate!=null&&o.__h.push(function(){o.componentDidUpdate(_,w,b)})}if(o.context=P,o.props=g,o.__P=e,o.__e=!1,T=C.__r,v=0,S)o.state=o.__s,o.__d=!1,T&&T(t),m=o.render(o.props,o.state,o.context),ve.push.apply(o.__h,o._sb),o._sb=[];else do o.__d=!1,T&&T(t),m=o.render(o.props,o.state,o.context),o.state=o.__s;while(o.__d&&++v<25);o.state=o.__s,o.getChildContext!=null&&(s=X(X({},s),o.getChildContext())),S&&!p&&o.getSnapshotBeforeUpdate!=null&&(b=o.getSnapshotBeforeUpdate(_,w)),E=m!=null&&m.type===Z&&m.key==null?bt(m.props.children):m,l=ft(e,Ie(E)?E:[E],t,r,s,a,i,c,l,h,d),o.base=t.__e,t.__u&=-161,o.__h.length&&c.push(o),k&&(o.__E=o.__=null)}catch($){if(c.length=f,t.__v=null,h||i!=null){if($.then){for(t.__u|=h?160:128;l&&l.nodeType==8&&l.nextSibling;)l=l.nextSibling;i!=null&&(i[i.indexOf(l)]=null),t.__e=l}else if(i!=null)for(B=i.length;B--;)qe(i[B])}else t.__e=r.__e;t.__k==null&&(t.__k=r.__k||[]),$.then||yt(t),C.__e($,t,r)}}else i==null&&t.__v==r.__v?(t.__k=r.__k,t.__e=r.__e):l=t.__e=jt(r.__e,t,r,s,a,i,c,h,d);return(m=C.diffed)&&m(t),128&t.__u?void 0:l}function yt(e){e&&(e.__c&&(e.__c.__e=!0),e.__k&&e.__k.some(yt))}function vt(e,t,r){for(var s=0;s<r.length;s++)Me(r[s],r[++s],r[++s]);C.__c&&C.__c(t,e),e.some(function(a){try{e=a.__h,a.__h=[],e.some(function(i){i.call(a)})}catch(i){C.__e(i,a.__v)}})}function bt(e){return typeof e!="object"||e==null||e.__b>0?e:Ie(e)?e.map(bt):e.constructor!==void 0?null:X({},e)}function jt(e,t,r,s,a,i,c,l,h){var d,m,f,o,p,_,w,b=r.props||ye,k=t.props,g=t.type;if(g=="svg"?a="http://www.w3.org/2000/svg":g=="math"?a="http://www.w3.org/1998/Math/MathML":a||(a="http://www.w3.org/1999/xhtml"),i!=null){for(d=0;d<i.length;d++)if((p=i[d])&&"setAttribute"in p==!!g&&(g?p.localName==g:p.nodeType==3)){e=p,i[d]=null;break}}if(e==null){if(g==null)return document.createTextNode(k);e=document.createElementNS(a,g,k.is&&k),l&&(C.__m&&C.__m(t,i),l=!1),i=null}if(g==null)b===k||l&&e.data==k||(e.data=k);else{if(i=g=="textarea"&&k.defaultValue!=null?null:i&&Se.call(e.childNodes),!l&&i!=null)for(b={},d=0;d<e.attributes.length;d++)b[(p=e.attributes[d]).name]=p.value;for(d in b)p=b[d],d=="dangerouslySetInnerHTML"?f=p:d=="children"||d in k||d=="value"&&"defaultValue"in k||d=="checked"&&"defaultChecked"in k||he(e,d,null,p,a);for(d in k)p=k[d],d=="children"?o=p:d=="dangerouslySetInnerHTML"?m=p:d=="value"?_=p:d=="checked"?w=p:l&&typeof p!="function"||b[d]===p||he(e,d,p,b[d],a);if(m)l||f&&(m.__html==f.__html||m.__html==e.innerHTML)||(e.innerHTML=m.__html),t.__k=[];else if(f&&(e.innerHTML=""),ft(t.type=="template"?e.content:e,Ie(o)?o:[o],t,r,s,g=="foreignObject"?"http://www.w3.org/1999/xhtml":a,i,c,i?i[0]:r.__k&&oe(r,0),l,h),i!=null)for(d=i.length;d--;)qe(i[d]);l&&g!="textarea"||(d="value",g=="progress"&&_==null?e.removeAttribute("value"):_!=null&&(_!==e[d]||g=="progress"&&!_||g=="option"&&_!=b[d])&&he(e,d,_,b[d],a),d="checked",w!=null&&w!=e[d]&&he(e,d,w,b[d],a))}return e}function Me(e,t,r){try{if(typeof e=="function"){var s=typeof e.__u=="function";s&&e.__u(),s&&t==null||(e.__u=e(t))}else e.current=t}catch(a){C.__e(a,r)}}function wt(e,t,r){var s,a;if(C.unmount&&C.unmount(e),(s=e.ref)&&(s.current&&s.current!=e.__e||Me(s,null,t)),(s=e.__c)!=null){if(s.componentWillUnmount)try{s.componentWillUnmount()}catch(i){C.__e(i,t)}s.base=s.__P=s.__n=null}if(s=e.__k)for(a=0;a<s.length;a++)s[a]&&wt(s[a],t,r||typeof e.type!="function");r||qe(e.__e),e.__c=e.__=e.__e=void 0}function Ut(e,t,r){return this.constructor(e,r)}function Ft(e,t,r){var s,a,i,c;t==document&&(t=document.documentElement),C.__&&C.__(e,t),a=(s=!1)?null:t.__k,i=[],c=[],He(t,e=t.__k=At(Z,null,[e]),a||ye,ye,t.namespaceURI,a?null:t.firstChild?Se.call(t.childNodes):null,i,a?a.__e:t.firstChild,s,c),vt(i,e,c),e.props.children=null}Se=ve.slice,C={__e:function(e,t,r,s){for(var a,i,c;t=t.__;)if((a=t.__c)&&!a.__)try{if((i=a.constructor)&&i.getDerivedStateFromError!=null&&(a.setState(i.getDerivedStateFromError(e)),c=a.__d),a.componentDidCatch!=null&&(a.componentDidCatch(e,s||{}),c=a.__d),c)return a.__E=a}catch(l){e=l}throw e}},ut=0,fe.prototype.setState=function(e,t){var r;r=this.__s!=null&&this.__s!=this.state?this.__s:this.__s=X({},this.state),typeof e=="function"&&(e=e(X({},r),this.props)),e&&X(r,e),e!=null&&this.__v&&(t&&this._sb.push(t),Ge(this))},fe.prototype.forceUpdate=function(e){this.__v&&(this.__e=!0,e&&this.__h.push(e),Ge(this))},fe.prototype.render=Z,te=[],pt=typeof Promise=="function"?Promise.prototype.then.bind(Promise.resolve()):setTimeout,ht=function(e,t){return e.__v.__b-t.__v.__b},be.__r=0,xe=Math.random().toString(8),_e="__d"+xe,le="__a"+xe,_t=/(PointerCapture)$|Capture$/i,Le=0,Oe=Je(!1),Ae=Je(!0);var Lt=0;function n(e,t,r,s,a,i){t||(t={});var c,l,h=t;if("ref"in h)for(l in h={},t)l=="ref"?c=t[l]:h[l]=t[l];var d={type:e,props:h,key:r,ref:c,__k:null,__:null,__b:0,__e:null,__c:null,constructor:void 0,__v:--Lt,__i:-1,__u:0,__source:a,__self:i};if(typeof e=="function"&&(c=e.defaultProps))for(l in c)h[l]===void 0&&(h[l]=c[l]);return C.vnode&&C.vnode(d),d}var de,D,Te,Qe,we=0,kt=[],F=C,Ye=F.__b,Xe=F.__r,Ze=F.diffed,et=F.__c,tt=F.unmount,nt=F.__;function We(e,t){F.__h&&F.__h(D,e,we||t),we=0;var r=D.__H||(D.__H={__:[],__h:[]});return e>=r.__.length&&r.__.push({}),r.__[e]}function y(e){return we=1,qt(It,e)}function qt(e,t,r){var s=We(de++,2);if(s.t=e,!s.__c&&(s.__=[It(void 0,t),function(l){var h=s.__N?s.__N[0]:s.__[0],d=s.t(h,l);h!==d&&(s.__N=[d,s.__[1]],s.__c.setState({}))}],s.__c=D,!D.__f)){var a=function(l,h,d){if(!s.__c.__H)return!0;var m=!1,f=s.__c.props!==l;if(s.__c.__H.__.some(function(p){if(p.__N){m=!0;var _=p.__[0];p.__=p.__N,p.__N=void 0,_!==p.__[0]&&(f=!0)}}),i){var o=i.call(this,l,h,d);return m?o||f:o}return!m||f};D.__f=!0;var i=D.shouldComponentUpdate,c=D.componentWillUpdate;D.componentWillUpdate=function(l,h,d){if(this.__e){var m=i;i=void 0,a(l,h,d),i=m}c&&c.call(this,l,h,d)},D.shouldComponentUpdate=a}return s.__N||s.__}function Q(e,t){var r=We(de++,3);!F.__s&&St(r.__H,t)&&(r.__=e,r.u=t,D.__H.__h.push(r))}function Pe(e){return we=5,Ht(function(){return{current:e}},[])}function Ht(e,t){var r=We(de++,7);return St(r.__H,t)&&(r.__=e(),r.__H=t,r.__h=e),r.__}function Mt(){for(var e;e=kt.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(ge),t.__h.some(Ce),t.__h=[]}catch(r){t.__h=[],F.__e(r,e.__v)}}}F.__b=function(e){D=null,Ye&&Ye(e)},F.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),nt&&nt(e,t)},F.__r=function(e){Xe&&Xe(e),de=0;var t=(D=e.__c).__H;t&&(Te===D?(t.__h=[],D.__h=[],t.__.some(function(r){r.__N&&(r.__=r.__N),r.u=r.__N=void 0})):(t.__h.some(ge),t.__h.some(Ce),t.__h=[],de=0)),Te=D},F.diffed=function(e){Ze&&Ze(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&(kt.push(t)!==1&&Qe===F.requestAnimationFrame||((Qe=F.requestAnimationFrame)||Wt)(Mt)),t.__H.__.some(function(r){r.u&&(r.__H=r.u,r.u=void 0)})),Te=D=null},F.__c=function(e,t){t.some(function(r){try{r.__h.some(ge),r.__h=r.__h.filter(function(s){return!s.__||Ce(s)})}catch(s){t.some(function(a){a.__h&&(a.__h=[])}),t=[],F.__e(s,r.__v)}}),et&&et(e,t)},F.unmount=function(e){tt&&tt(e);var t,r=e.__c;r&&r.__H&&(r.__H.__.some(function(s){try{ge(s)}catch(a){t=a}}),r.__H=void 0,t&&F.__e(t,r.__v))};var rt=typeof requestAnimationFrame=="function";function Wt(e){var t,r=function(){clearTimeout(s),rt&&cancelAnimationFrame(t),setTimeout(e)},s=setTimeout(r,35);rt&&(t=requestAnimationFrame(r))}function ge(e){var t=D,r=e.__c;typeof r=="function"&&(e.__c=void 0,r()),D=t}function Ce(e){var t=D;e.__c=e.__(),D=t}function St(e,t){return!e||e.length!==t.length||t.some(function(r,s){return r!==e[s]})}function It(e,t){return typeof t=="function"?t(e):t}function z(e){return e===null?"null":Array.isArray(e)?"array":typeof e}function re(e){return z(e)==="object"}function Vt(e){return Array.isArray(e)&&e.length>0&&e.every(t=>"message"in t)}function ot(e,t){return e.length<124?e:t}const Bt="graphql-transport-ws";var K=(e=>(e[e.InternalServerError=4500]="InternalServerError",e[e.InternalClientError=4005]="InternalClientError",e[e.BadRequest=4400]="BadRequest",e[e.BadResponse=4004]="BadResponse",e[e.Unauthorized=4401]="Unauthorized",e[e.Forbidden=4403]="Forbidden",e[e.SubprotocolNotAcceptable=4406]="SubprotocolNotAcceptable",e[e.ConnectionInitialisationTimeout=4408]="ConnectionInitialisationTimeout",e[e.ConnectionAcknowledgementTimeout=4504]="ConnectionAcknowledgementTimeout",e[e.SubscriberAlreadyExists=4409]="SubscriberAlreadyExists",e[e.TooManyInitialisationRequests=4429]="TooManyInitialisationRequests",e))(K||{}),J=(e=>(e.ConnectionInit="connection_init",e.ConnectionAck="connection_ack",e.Ping="ping",e.Pong="pong",e.Subscribe="subscribe",e.Next="next",e.Error="error",e.Complete="complete",e))(J||{});function $t(e){if(!re(e))throw new Error(`Message is expected to be an object, but got ${z(e)}`);if(!e.type)throw new Error("Message is missing the 'type' property");if(typeof e.type!="string")throw new Error(`Message is expects the 'type' property to be a string, but got ${z(e.type)}`);switch(e.type){case"connection_init":case"connection_ack":case"ping":case"pong":{if(e.payload!=null&&!re(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object or nullish or missing, but got "${e.payload}"`);break}case"subscribe":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${z(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!re(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object, but got ${z(e.payload)}`);if(typeof e.payload.query!="string")throw new Error(`"${e.type}" message payload expects the 'query' property to be a string, but got ${z(e.payload.query)}`);if(e.payload.variables!=null&&!re(e.payload.variables))throw new Error(`"${e.type}" message payload expects the 'variables' property to be a an object or nullish or missing, but got ${z(e.payload.variables)}`);if(e.payload.operationName!=null&&z(e.payload.operationName)!=="string")throw new Error(`"${e.type}" message payload expects the 'operationName' property to be a string or nullish or missing, but got ${z(e.payload.operationName)}`);if(e.payload.extensions!=null&&!re(e.payload.extensions))throw new Error(`"${e.type}" message payload expects the 'extensions' property to be a an object or nullish or missing, but got ${z(e.payload.extensions)}`);break}case"next":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${z(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!re(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an object, but got ${z(e.payload)}`);break}case"error":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${z(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);if(!Vt(e.payload))throw new Error(`"${e.type}" message expects the 'payload' property to be an array of GraphQL errors, but got ${JSON.stringify(e.payload)}`);break}case"complete":{if(typeof e.id!="string")throw new Error(`"${e.type}" message expects the 'id' property to be a string, but got ${z(e.id)}`);if(!e.id)throw new Error(`"${e.type}" message requires a non-empty 'id' property`);break}default:throw new Error(`Invalid message 'type' property "${e.type}"`)}return e}function zt(e,t){return $t(typeof e=="string"?JSON.parse(e,t):e)}function ce(e,t){return $t(e),JSON.stringify(e,t)}function Gt(e){const{url:t,connectionParams:r,lazy:s=!0,onNonLazyError:a=console.error,lazyCloseTimeout:i=0,keepAlive:c=0,disablePong:l,connectionAckWaitTimeout:h=0,retryAttempts:d=5,retryWait:m=async function(A){const I=Math.pow(2,A);await new Promise(O=>setTimeout(O,I*1e3+Math.floor(Math.random()*2700+300)))},shouldRetry:f=Ne,on:o,webSocketImpl:p,generateID:_=function(){return"xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g,A=>{const I=Math.random()*16|0;return(A=="x"?I:I&3|8).toString(16)})},jsonMessageReplacer:w,jsonMessageReviver:b}=e;let k;if(p){if(!Jt(p))throw new Error("Invalid WebSocket implementation provided");k=p}else typeof WebSocket<"u"?k=WebSocket:typeof global<"u"?k=global.WebSocket||global.MozWebSocket:typeof window<"u"&&(k=window.WebSocket||window.MozWebSocket);if(!k)throw new Error("WebSocket implementation missing; on Node you can `import WebSocket from 'ws';` and pass `webSocketImpl: WebSocket` to `createClient`");const g=k,S=(()=>{const x=(()=>{const I={};return{on(O,j){return I[O]=j,()=>{delete I[O]}},emit(O){"id"in O&&I[O.id]?.(O)}}})(),A={connecting:o?.connecting?[o.connecting]:[],opened:o?.opened?[o.opened]:[],connected:o?.connected?[o.connected]:[],ping:o?.ping?[o.ping]:[],pong:o?.pong?[o.pong]:[],message:o?.message?[x.emit,o.message]:[x.emit],closed:o?.closed?[o.closed]:[],error:o?.error?[o.error]:[]};return{onMessage:x.on,on(I,O){const j=A[I];return j.push(O),()=>{const U=j.indexOf(O);U>-1&&j.splice(U,1)}},emit(I,...O){for(const j of[...A[I]])j(...O)}}})();function R(x){const A=[S.on("error",I=>{A.forEach(O=>O()),x(I)}),S.on("closed",I=>{A.forEach(O=>O()),x(I)})];return()=>A.forEach(I=>I())}let P,T=0,v,E=!1,B=0,u=!1;async function $(){clearTimeout(v);const[x,A]=await(P??(P=new Promise((j,U)=>(async()=>{if(E){if(await m(B),!T)return P=void 0,U({code:1e3,reason:"All Subscriptions Gone"});B++}S.emit("connecting",E);const N=new g(typeof t=="function"?await t():t,Bt);let Y,ie;function pe(){isFinite(c)&&c>0&&(clearTimeout(ie),ie=setTimeout(()=>{N.readyState===g.OPEN&&(N.send(ce({type:J.Ping})),S.emit("ping",!1,void 0))},c))}R(M=>{P=void 0,clearTimeout(Y),clearTimeout(ie),U(M),M instanceof it&&(N.close(4499,"Terminated"),N.onerror=null,N.onclose=null)}),N.onerror=M=>S.emit("error",M),N.onclose=M=>S.emit("closed",M),N.onopen=async()=>{try{S.emit("opened",N);const M=typeof r=="function"?await r():r;if(N.readyState!==g.OPEN)return;N.send(ce(M?{type:J.ConnectionInit,payload:M}:{type:J.ConnectionInit},w)),isFinite(h)&&h>0&&(Y=setTimeout(()=>{N.close(K.ConnectionAcknowledgementTimeout,"Connection acknowledgement timeout")},h)),pe()}catch(M){S.emit("error",M),N.close(K.InternalClientError,ot(M instanceof Error?M.message:String(M),"Internal client error"))}};let se=!1;N.onmessage=({data:M})=>{try{const H=zt(M,b);if(S.emit("message",H),H.type==="ping"||H.type==="pong"){S.emit(H.type,!0,H.payload),H.type==="pong"?pe():l||(N.send(ce(H.payload?{type:J.Pong,payload:H.payload}:{type:J.Pong},w)),S.emit("pong",!1,H.payload));return}if(se)return;if(H.type!==J.ConnectionAck)throw new Error(`First message cannot be of type ${H.type}`);clearTimeout(Y),se=!0,S.emit("connected",N,H.payload,E),E=!1,B=0;const Be=new Promise((Tn,Et)=>R(Et));Be.catch(()=>{}),j([N,Be])}catch(H){N.onmessage=null,S.emit("error",H),N.close(K.BadResponse,ot(H instanceof Error?H.message:String(H),"Bad response"))}}})())));x.readyState===g.CLOSING&&await A;let I=()=>{};const O=new Promise(j=>I=j);return[x,I,new Promise((j,U)=>{const N=R(U);x.readyState!==g.OPEN&&A.catch(U),O.then(()=>{if(N(),!T){const Y=()=>x.close(1e3,"Normal Closure");isFinite(i)&&i>0?(clearTimeout(v),v=setTimeout(()=>{!T&&x.readyState===g.OPEN&&Y()},i)):Y()}j()})})]}function L(x){if(Ne(x)&&(Kt(x.code)||[K.InternalServerError,K.InternalClientError,K.BadRequest,K.BadResponse,K.Unauthorized,K.SubprotocolNotAcceptable,K.SubscriberAlreadyExists,K.TooManyInitialisationRequests].includes(x.code)))throw x;if(u)return!1;if(Ne(x)&&x.code===1e3)return T>0;if(!d||B>=d||!f(x))throw x;return E=!0}s||(async()=>{for(T++;;)try{const[,,x]=await $();await x}catch(x){try{if(!L(x))return}catch(A){return a?.(A)}}})();function G(x,A){const I=_(x);let O=!1,j=!1,U=()=>{T--,O=!0};return(async()=>{for(T++;;)try{const[N,Y,ie]=await $();if(O)return ie.catch(()=>{}),Y();const pe=S.onMessage(I,se=>{switch(se.type){case J.Next:{A.next(se.payload);return}case J.Error:{j=!0,O=!0,A.error(se.payload),U();return}case J.Complete:{O=!0,U();return}}});N.send(ce({id:I,type:J.Subscribe,payload:x},w)),U=()=>{!O&&N.readyState===g.OPEN&&N.send(ce({id:I,type:J.Complete},w)),T--,O=!0,Y()},await ie.finally(pe);return}catch(N){if(!L(N))return}})().then(()=>{j||A.complete()}).catch(N=>{A.error(N)}),()=>{O||U()}}return{on:S.on,subscribe:G,iterate(x){const A=[],I={done:!1,error:null,resolve:()=>{}},O=G(x,{next(U){A.push(U),I.resolve()},error(U){I.done=!0,I.error=U,I.resolve()},complete(){I.done=!0,I.resolve()}}),j=(async function*(){for(;;){for(A.length||await new Promise(N=>I.resolve=N);A.length;)yield A.shift();if(I.error)throw I.error;if(I.done)return}})();return j.throw=async U=>(I.done||(I.done=!0,I.error=U,I.resolve()),{done:!0,value:void 0}),j.return=async()=>(O(),{done:!0,value:void 0}),j},async dispose(){if(u=!0,P){const[x]=await P;x.close(1e3,"Normal Closure")}},terminate(){P&&S.emit("closed",new it)}}}class it extends Error{name="TerminatedCloseEvent";message="4499: Terminated";code=4499;reason="Terminated";wasClean=!1}function Ne(e){return re(e)&&"code"in e&&"reason"in e}function Kt(e){return[1e3,1001,1006,1005,1012,1013,1014].includes(e)?!1:e>=1e3&&e<=1999}function Jt(e){return typeof e=="function"&&"constructor"in e&&"CLOSED"in e&&"CLOSING"in e&&"CONNECTING"in e&&"OPEN"in e}const Re="chronicle.token";function ue(){return localStorage.getItem(Re)??""}function Qt(e){e?localStorage.setItem(Re,e):localStorage.removeItem(Re),ne&&(ne.dispose(),ne=null)}function De(e){const t=e.split(".")[1];if(!t)return null;try{const r=atob(t.replace(/-/g,"+").replace(/_/g,"/"));return JSON.parse(r)}catch{return null}}class ee extends Error{code;extensions;constructor(t,r,s={}){super(t),this.code=r,this.extensions=s}}function je(e){const t=e[0],r=t?.extensions??{};return new ee(t?.message??"unknown error",String(r.code??"INTERNAL"),r)}async function V(e,t){const r={"content-type":"application/json",accept:"application/graphql-response+json, application/json"},s=ue();s&&(r.authorization=`Bearer ${s}`);let a;try{a=await fetch("/graphql",{method:"POST",headers:r,body:JSON.stringify({query:e.toString(),variables:t??{}})})}catch(c){throw new ee(`the server is unreachable (${String(c)})`,"NETWORK")}let i;try{i=await a.json()}catch{throw new ee(`HTTP ${a.status} without a GraphQL body`,"INTERNAL")}if(i.errors&&i.errors.length>0)throw je(i.errors);if(!i.data)throw new ee("empty response","INTERNAL");return i.data}let ne=null;const Ue=new Set;let xt=!1;function st(e){xt=e,Ue.forEach(t=>t(e))}function Yt(){if(ne)return ne;const e=new URL("/graphql",location.href);e.protocol=e.protocol==="https:"?"wss:":"ws:";const t=Gt({url:e.href,connectionParams:()=>{const r=ue();return r?{authorization:`Bearer ${r}`}:{}},retryAttempts:1/0,shouldRetry:()=>!0});return t.on("connected",()=>ne===t&&st(!0)),t.on("closed",()=>ne===t&&st(!1)),ne=t,t}function Tt(e){return Ue.add(e),e(xt),()=>Ue.delete(e)}function ae(e,t,r,s){return Yt().subscribe({query:e.toString(),variables:t},{next:a=>{a.errors&&a.errors.length>0?s(je(a.errors)):a.data&&r(a.data)},error:a=>{Array.isArray(a)?s(je(a)):a instanceof Error?s(new ee(a.message,"NETWORK")):s(new ee("the subscription socket closed","NETWORK"))},complete:()=>{}})}function W(e){if(!(e instanceof ee))return String(e);switch(e.code){case"BUSINESS_RULE":return`Refused by a business rule: ${e.message}`;case"CONCURRENCY_CONFLICT":{const{expectedVersion:t,actualVersion:r}=e.extensions;return`Someone else changed this order meanwhile: you acted on version ${String(t)}, it is now at version ${String(r)}.`}case"VALIDATION":return`Invalid input: ${e.message}`;case"NOT_FOUND":return`Not found: ${e.message}`;case"UNAUTHENTICATED":return`Not signed in or the token was refused: ${e.message}`;case"FORBIDDEN":return`Not allowed: ${e.message}`;default:return e.message}}function at(e){const t=e.replace(/^#\/?/,"").split("/").map(decodeURIComponent);switch(t[0]){case"orders":return t[1]?{view:"order",id:t[1]}:{view:"orders"};case"new":return{view:"new"};case"events":return{view:"events"};case"projections":return{view:"projections"};case"signin":return{view:"signin"};default:return{view:"orders"}}}function Xt(){const[e,t]=y(()=>at(location.hash));return Q(()=>{const r=()=>t(at(location.hash));return addEventListener("hashchange",r),()=>removeEventListener("hashchange",r)},[]),e}function Pt(e){location.hash=e}class q extends String{__apiType;value;__meta__;constructor(t,r){super(t),this.value=t,this.__meta__=r}toString(){return this.value}}new q(`
    fragment OrderFields on Order {
  id
  customerId
  status
  totalAmount
  version
  createdAt
  updatedAt
  trackingNumber
  paymentReference
  cancelReason
  items {
    sku
    name
    unitPrice
    quantity
    lineTotal
  }
}
    `,{fragmentName:"OrderFields"});new q(`
    fragment ProjectionFields on ProjectionStatus {
  name
  position
  head
  lag
  lagSeconds
  eventsPerSecond
  state
  lastError
  generation
  rebuild {
    generation
    replaces
    state
    position
    head
    lag
    eventsDone
    eventsPerSecond
    error
  }
}
    `,{fragmentName:"ProjectionFields"});const Zt=new q(`
    query Orders($status: OrderStatus, $customerId: ID, $first: Int, $after: String) {
  orders(status: $status, customerId: $customerId, first: $first, after: $after) {
    edges {
      cursor
      node {
        id
        customerId
        status
        totalAmount
        version
        updatedAt
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `),ct=new q(`
    query Order($id: ID!, $atVersion: Int) {
  order(id: $id, atVersion: $atVersion) {
    ...OrderFields
  }
}
    fragment OrderFields on Order {
  id
  customerId
  status
  totalAmount
  version
  createdAt
  updatedAt
  trackingNumber
  paymentReference
  cancelReason
  items {
    sku
    name
    unitPrice
    quantity
    lineTotal
  }
}`),Ee=new q(`
    query OrderHistory($id: ID!) {
  orderHistory(id: $id) {
    position
    version
    eventType
    recordedAt
    data
    metadata {
      userId
      correlationId
      commandId
      reason
    }
  }
}
    `),Ve=new q(`
    subscription OrderUpdated($id: ID!, $afterVersion: Int) {
  orderUpdated(id: $id, afterVersion: $afterVersion) {
    ...OrderFields
  }
}
    fragment OrderFields on Order {
  id
  customerId
  status
  totalAmount
  version
  createdAt
  updatedAt
  trackingNumber
  paymentReference
  cancelReason
  items {
    sku
    name
    unitPrice
    quantity
    lineTotal
  }
}`),en=new q(`
    subscription OrderChanges {
  projectionUpdated(projection: "order_details") {
    aggregateId
    version
    eventType
    position
  }
}
    `),tn=new q(`
    mutation CreateOrder($input: CreateOrderInput!) {
  createOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `),nn=new q(`
    mutation AddItem($input: AddItemInput!) {
  addItem(input: $input) {
    aggregateId
    version
    position
  }
}
    `),rn=new q(`
    mutation RemoveItem($input: RemoveItemInput!) {
  removeItem(input: $input) {
    aggregateId
    version
    position
  }
}
    `),on=new q(`
    mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `),sn=new q(`
    mutation PayOrder($input: PayOrderInput!) {
  payOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `),an=new q(`
    mutation ShipOrder($input: ShipOrderInput!) {
  shipOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `),cn=new q(`
    mutation CancelOrder($input: CancelOrderInput!) {
  cancelOrder(input: $input) {
    aggregateId
    version
    position
  }
}
    `),ln=new q(`
    subscription EventFeed($afterPosition: String, $filter: EventFilter) {
  events(afterPosition: $afterPosition, filter: $filter) {
    position
    eventId
    streamId
    streamType
    version
    eventType
    recordedAt
    data
    metadata {
      userId
      correlationId
      reason
    }
  }
}
    `),Nt=new q(`
    query Projections {
  projections {
    ...ProjectionFields
  }
}
    fragment ProjectionFields on ProjectionStatus {
  name
  position
  head
  lag
  lagSeconds
  eventsPerSecond
  state
  lastError
  generation
  rebuild {
    generation
    replaces
    state
    position
    head
    lag
    eventsDone
    eventsPerSecond
    error
  }
}`),dn=new q(`
    subscription ProjectionStatus($name: String!) {
  projectionStatus(name: $name) {
    ...ProjectionFields
  }
}
    fragment ProjectionFields on ProjectionStatus {
  name
  position
  head
  lag
  lagSeconds
  eventsPerSecond
  state
  lastError
  generation
  rebuild {
    generation
    replaces
    state
    position
    head
    lag
    eventsDone
    eventsPerSecond
    error
  }
}`),un=new q(`
    mutation RebuildProjection($name: String!) {
  rebuildProjection(name: $name) {
    projection
    generation
    state
  }
}
    `);function $e(e){const t=new Date(e);return Number.isNaN(t.getTime())?e:t.toLocaleString()}function Fe(e){return e.length>13?`${e.slice(0,8)}…`:e}const pn=["PENDING","PLACED","PAID","SHIPPED","CANCELLED"],hn=10;function _n({customer:e}){const[t,r]=y(""),[s,a]=y(""),[i,c]=y(""),[l,h]=y([null]),d=l[l.length-1]??null,[m,f]=y([]),[o,p]=y(null),[_,w]=y(""),[b,k]=y({}),[g,S]=y(!1),R=Pe(!1),P=Pe(!1),T=Pe(()=>{});T.current=()=>{if(R.current){P.current=!0;return}R.current=!0,V(Zt,{status:t||null,customerId:s||null,first:hn,after:d}).then(u=>{f(u.orders.edges.map($=>$.node)),p(u.orders.pageInfo.hasNextPage?u.orders.pageInfo.endCursor??null:null),w(""),S(!0)}).catch(u=>w(W(u))).finally(()=>{R.current=!1,P.current&&(P.current=!1,T.current())})},Q(()=>T.current(),[t,s,d]);const v=u=>{k($=>({...$,[u]:Date.now()}))};Q(()=>{if(e)return;const u=ae(en,{},G=>{v(G.projectionUpdated.aggregateId),T.current()},G=>w(W(G)));let $=!0;const L=Tt(G=>{G&&!$&&T.current(),G&&($=!1)});return()=>{u(),L()}},[e]);const E=m.map(u=>u.id).join(",");Q(()=>{if(!e||!E)return;const u=E.split(",").map($=>ae(Ve,{id:$},L=>{const G=L.orderUpdated;f(x=>x.map(A=>A.id===G.id?{...A,...G}:A)),v(G.id)},L=>w(W(L))));return()=>u.forEach($=>$())},[e,E]);const B=()=>h([null]);return n("section",{children:[n("h1",{children:"Orders"}),n("form",{class:"filters",onSubmit:u=>{u.preventDefault(),a(i.trim()),B()},children:[n("label",{children:["Status"," ",n("select",{name:"status",value:t,onChange:u=>{r(u.currentTarget.value),B()},children:[n("option",{value:"",children:"any"}),pn.map(u=>n("option",{value:u,children:u}))]})]}),!e&&n("label",{children:["Customer"," ",n("input",{name:"customer",value:i,placeholder:"customer id",onInput:u=>c(u.currentTarget.value)})]}),!e&&n("button",{type:"submit",children:"Filter"})]}),_&&n("p",{class:"error",role:"alert",children:_}),n("table",{class:"orders","data-loaded":g?"yes":"no",children:[n("thead",{children:n("tr",{children:[n("th",{children:"Order"}),n("th",{children:"Status"}),n("th",{children:"Customer"}),n("th",{class:"num",children:"Total"}),n("th",{class:"num",children:"Version"}),n("th",{children:"Updated"})]})}),n("tbody",{children:[m.map(u=>n("tr",{class:b[u.id]?"changed":"","data-order":u.id,children:[n("td",{children:n("a",{href:`#/orders/${encodeURIComponent(u.id)}`,title:u.id,children:Fe(u.id)})}),n("td",{children:n("span",{class:`status ${u.status}`,"data-testid":"status",children:u.status})}),n("td",{"data-testid":"customer",children:u.customerId}),n("td",{class:"num","data-testid":"total",children:u.totalAmount}),n("td",{class:"num","data-testid":"version",children:u.version}),n("td",{children:$e(u.updatedAt)})]},u.id+":"+(b[u.id]??0))),g&&m.length===0&&n("tr",{children:n("td",{colSpan:6,class:"empty",children:["No orders",t||s?" match these filters":" yet","."]})})]})]}),n("div",{class:"pager",children:[n("button",{disabled:l.length<=1,onClick:()=>h(u=>u.slice(0,-1)),children:"← Previous"}),n("span",{children:["page ",l.length]}),n("button",{disabled:!o,onClick:()=>o&&h(u=>[...u,o]),children:"Next →"})]})]})}function mn(e,t){return new Promise((r,s)=>{let a=()=>{};const i=setTimeout(()=>{a(),s(new ee(`the read model did not reach version ${t} in time`,"TIMEOUT"))},15e3);a=ae(Ve,{id:e,afterVersion:t-1},c=>{clearTimeout(i),a(),r(c.orderUpdated)},c=>{clearTimeout(i),a(),s(c)})})}function lt({order:e,testid:t}){return n("div",{class:"order-state","data-testid":t,children:[n("dl",{children:[n("dt",{children:"Status"}),n("dd",{children:n("span",{class:`status ${e.status}`,"data-testid":"status",children:e.status})}),n("dt",{children:"Customer"}),n("dd",{children:e.customerId}),n("dt",{children:"Total"}),n("dd",{"data-testid":"total",children:e.totalAmount}),n("dt",{children:"Version"}),n("dd",{"data-testid":"version",children:e.version}),n("dt",{children:"Updated"}),n("dd",{children:$e(e.updatedAt)}),e.paymentReference&&n(Z,{children:[n("dt",{children:"Payment"}),n("dd",{children:e.paymentReference})]}),e.trackingNumber&&n(Z,{children:[n("dt",{children:"Tracking"}),n("dd",{children:e.trackingNumber})]}),e.cancelReason&&n(Z,{children:[n("dt",{children:"Cancelled"}),n("dd",{children:e.cancelReason})]})]}),n("table",{class:"items",children:[n("thead",{children:n("tr",{children:[n("th",{children:"SKU"}),n("th",{children:"Name"}),n("th",{class:"num",children:"Unit price"}),n("th",{class:"num",children:"Qty"}),n("th",{class:"num",children:"Line total"})]})}),n("tbody",{children:e.items.map(r=>n("tr",{"data-sku":r.sku,children:[n("td",{children:r.sku}),n("td",{children:r.name}),n("td",{class:"num",children:r.unitPrice}),n("td",{class:"num",children:r.quantity}),n("td",{class:"num",children:r.lineTotal})]}))})]})]})}function fn({id:e}){const[t,r]=y(null),[s,a]=y([]),[i,c]=y(!1),[l,h]=y(!0),[d,m]=y(null),[f,o]=y(null),[p,_]=y(null),[w,b]=y(null),[k,g]=y(!1),S=async()=>{const[u,$]=await Promise.all([V(ct,{id:e}),V(Ee,{id:e})]);return a($.orderHistory),u.order&&r(u.order),c(!u.order&&$.orderHistory.length===0),u.order},R=async u=>{const[$,L]=await Promise.all([mn(e,u),V(Ee,{id:e})]);return r($),a(L.orderHistory),$};Q(()=>{S().catch(u=>_({kind:"error",text:W(u)}))},[e]),Q(()=>{if(l)return ae(Ve,{id:e},u=>{r(u.orderUpdated),c(!1),V(Ee,{id:e}).then($=>a($.orderHistory)).catch($=>_({kind:"error",text:W($)}))},u=>_({kind:"error",text:W(u)}))},[e,l]);const P=t?.version??0,T=d!==null&&d<P?d:P;Q(()=>{if(d===null||d>=P){o(null);return}let u=!0;return V(ct,{id:e,atVersion:d}).then($=>u&&o($.order??null)).catch($=>u&&_({kind:"error",text:W($)})),()=>{u=!1}},[e,d,P]);const v=async(u,$)=>{g(!0),_(null),b(null);try{const L=await u.send($);_({kind:"ok",text:`${u.label}: done (version ${L}).`}),l||await R(L)}catch(L){_({kind:"error",text:W(L)}),L instanceof ee&&L.code==="CONCURRENCY_CONFLICT"&&b({action:u,actual:Number(L.extensions.actualVersion)})}finally{g(!1)}},E=u=>v(u,P),B=async()=>{if(w)try{const u=await R(w.actual);await v(w.action,u.version)}catch(u){_({kind:"error",text:W(u)})}};return i?n("section",{children:[n("h1",{children:["Order ",e]}),n("p",{class:"error",children:"There is no order with this id."})]}):t?n("section",{class:"order",children:[n("h1",{children:["Order ",n("code",{children:t.id})]}),n("label",{class:"follow",children:[n("input",{type:"checkbox",name:"follow",checked:l,onChange:u=>h(u.currentTarget.checked)})," ","follow live updates"]}),!l&&n("button",{type:"button",onClick:()=>S().catch(u=>_({kind:"error",text:W(u)})),children:"Reload"}),p&&n("div",{class:p.kind==="error"?"error":"ok",role:p.kind==="error"?"alert":"status","data-testid":"message",children:[p.text,w&&n("button",{type:"button","data-testid":"retry",onClick:B,disabled:k,children:["Reload and retry “",w.action.label,"”"]})]}),n("div",{class:"columns",children:[n("div",{children:[n("h2",{children:"Current state"}),n(lt,{order:t,testid:"current"}),n(gn,{order:t,busy:k,act:E})]}),n("div",{children:[n("h2",{children:"Time travel"}),n("div",{class:"slider",children:[n("input",{type:"range",name:"version",min:1,max:Math.max(P,1),step:1,value:T,disabled:P<=1,onInput:u=>{const $=Number(u.currentTarget.value);m($>=P?null:$)}}),n("span",{"data-testid":"slider-label",children:["version ",T," of ",P,T<P?"":" (now)"]})]}),T<P&&(f&&f.version===T?n(lt,{order:f,testid:"past"}):n("p",{children:["Rebuilding version ",T,"…"]})),n("h2",{children:"Timeline"}),n("ol",{class:"timeline","data-testid":"timeline",children:s.map(u=>n("li",{class:u.version>T?"future":"","data-version":u.version,children:[n("div",{class:"head",children:[n("strong",{children:["v",u.version," ",u.eventType]}),n("span",{children:$e(u.recordedAt)})]}),n("div",{class:"meta",children:["user ",n("b",{children:u.metadata.userId??"—"})," · correlation"," ",n("code",{children:u.metadata.correlationId??"—"})," · position ",u.position,u.metadata.reason&&n(Z,{children:[" ","· reason ",n("b",{children:u.metadata.reason})]})]}),n("pre",{children:JSON.stringify(u.data,null,1)})]}))})]})]})]}):n("section",{children:[n("h1",{children:["Order ",e]}),p?n("p",{class:"error",children:p.text}):n("p",{children:"Loading…"})]})}function gn({order:e,busy:t,act:r}){const s=e.id,[a,i]=y(""),[c,l]=y(""),[h,d]=y("1.00"),[m,f]=y("1"),[o,p]=y(""),[_,w]=y("pay-1"),[b,k]=y(""),[g,S]=y(""),[R,P]=y(""),T=(v,E)=>B=>{B.preventDefault(),r({label:v,send:E})};return n("div",{class:"actions",children:[n("h2",{children:"Actions"}),n("p",{class:"hint",children:["Each is sent with expectedVersion ",e.version,"."]}),n("form",{"data-action":"add-item",onSubmit:T(`add ${a||"item"}`,v=>V(nn,{input:{orderId:s,sku:a,name:c,unitPrice:h,quantity:Number(m),expectedVersion:v}}).then(E=>E.addItem.version)),children:[n("input",{name:"sku",placeholder:"SKU",value:a,onInput:v=>i(v.currentTarget.value)}),n("input",{name:"name",placeholder:"name",value:c,onInput:v=>l(v.currentTarget.value)}),n("input",{name:"unitPrice",placeholder:"unit price",size:6,value:h,onInput:v=>d(v.currentTarget.value)}),n("input",{name:"quantity",placeholder:"qty",size:3,value:m,onInput:v=>f(v.currentTarget.value)}),n("button",{disabled:t,children:"Add item"})]}),n("form",{"data-action":"remove-item",onSubmit:T(`remove ${o}`,v=>V(rn,{input:{orderId:s,sku:o,expectedVersion:v}}).then(E=>E.removeItem.version)),children:[n("select",{name:"sku",value:o,onChange:v=>p(v.currentTarget.value),children:[n("option",{value:"",children:"SKU…"}),e.items.map(v=>n("option",{value:v.sku,children:v.sku}))]}),n("button",{disabled:t||!o,children:"Remove item"})]}),n("form",{"data-action":"place",onSubmit:T("place",v=>V(on,{input:{orderId:s,expectedVersion:v}}).then(E=>E.placeOrder.version)),children:n("button",{disabled:t,children:"Place"})}),n("form",{"data-action":"pay",onSubmit:T("pay",v=>V(sn,{input:{orderId:s,amount:b||e.totalAmount,paymentReference:_,expectedVersion:v}}).then(E=>E.payOrder.version)),children:[n("input",{name:"amount",placeholder:e.totalAmount,size:8,value:b,onInput:v=>k(v.currentTarget.value)}),n("input",{name:"paymentReference",placeholder:"payment ref",value:_,onInput:v=>w(v.currentTarget.value)}),n("button",{disabled:t,children:"Pay"})]}),n("form",{"data-action":"ship",onSubmit:T("ship",v=>V(an,{input:{orderId:s,trackingNumber:g,expectedVersion:v}}).then(E=>E.shipOrder.version)),children:[n("input",{name:"trackingNumber",placeholder:"tracking number",value:g,onInput:v=>S(v.currentTarget.value)}),n("button",{disabled:t,children:"Ship"})]}),n("form",{"data-action":"cancel",onSubmit:T("cancel",v=>V(cn,{input:{orderId:s,reason:R,expectedVersion:v}}).then(E=>E.cancelOrder.version)),children:[n("input",{name:"reason",placeholder:"reason",value:R,onInput:v=>P(v.currentTarget.value)}),n("button",{disabled:t,children:"Cancel order"})]})]})}const dt=()=>({sku:"",name:"",unitPrice:"",quantity:"1"});function yn({defaultCustomer:e}){const[t,r]=y(e),[s,a]=y([dt()]),[i,c]=y(""),[l,h]=y(!1),d=(f,o,p)=>a(_=>_.map((w,b)=>b===f?{...w,[o]:p}:w));return n("section",{children:[n("h1",{children:"New order"}),n("form",{class:"new-order",onSubmit:async f=>{f.preventDefault(),h(!0),c("");try{const o=await V(tn,{input:{customerId:t,items:s.map(p=>({sku:p.sku,name:p.name,unitPrice:p.unitPrice,quantity:Number(p.quantity)}))}});Pt(`#/orders/${encodeURIComponent(o.createOrder.aggregateId)}`)}catch(o){c(W(o))}finally{h(!1)}},children:[n("label",{children:["Customer"," ",n("input",{name:"customerId",value:t,onInput:f=>r(f.currentTarget.value)})]}),n("table",{children:[n("thead",{children:n("tr",{children:[n("th",{children:"SKU"}),n("th",{children:"Name"}),n("th",{children:"Unit price"}),n("th",{children:"Quantity"}),n("th",{})]})}),n("tbody",{children:s.map((f,o)=>n("tr",{"data-line":o,children:[n("td",{children:n("input",{name:"sku",value:f.sku,onInput:p=>d(o,"sku",p.currentTarget.value)})}),n("td",{children:n("input",{name:"name",value:f.name,onInput:p=>d(o,"name",p.currentTarget.value)})}),n("td",{children:n("input",{name:"unitPrice",size:8,value:f.unitPrice,placeholder:"10.00",onInput:p=>d(o,"unitPrice",p.currentTarget.value)})}),n("td",{children:n("input",{name:"quantity",size:4,value:f.quantity,onInput:p=>d(o,"quantity",p.currentTarget.value)})}),n("td",{children:n("button",{type:"button",onClick:()=>a(p=>p.filter((_,w)=>w!==o)),children:"✕"})})]}))})]}),n("button",{type:"button",onClick:()=>a(f=>[...f,dt()]),children:"+ Line"})," ",n("button",{type:"submit",disabled:l,children:"Create order"}),i&&n("p",{class:"error",role:"alert","data-testid":"message",children:i})]})]})}const vn=50,bn=200;function wn(){const[e,t]=y(""),[r,s]=y(""),[a,i]=y(""),[c,l]=y({}),[h,d]=y([]),[m,f]=y(""),[o,p]=y(!1);return Q(()=>{let _=null,w=!1;return d([]),p(!1),V(Nt).then(b=>{if(w)return;const k=b.projections.reduce((S,R)=>Math.max(S,Number(R.head)),0),g=Math.max(0,k-vn);p(!0),_=ae(ln,{afterPosition:String(g),filter:c},S=>d(R=>[S.events,...R].slice(0,bn)),S=>f(W(S)))}).catch(b=>f(W(b))),()=>{w=!0,_?.()}},[c]),n("section",{children:[n("h1",{children:"Event log"}),n("form",{class:"filters",onSubmit:_=>{_.preventDefault();const w=e.split(",").map(b=>b.trim()).filter(Boolean);l({...w.length?{eventTypes:w}:{},...r.trim()?{streamId:r.trim()}:{},...a.trim()?{userId:a.trim()}:{}})},children:[n("label",{children:["Types ",n("input",{name:"types",placeholder:"OrderPlaced, OrderPaid",value:e,onInput:_=>t(_.currentTarget.value)})]}),n("label",{children:["Stream ",n("input",{name:"stream",placeholder:"order id",value:r,onInput:_=>s(_.currentTarget.value)})]}),n("label",{children:["User ",n("input",{name:"user",placeholder:"user id",value:a,onInput:_=>i(_.currentTarget.value)})]}),n("button",{type:"submit",children:"Apply"})]}),m&&n("p",{class:"error",role:"alert",children:m}),n("table",{class:"events","data-ready":o?"yes":"no",children:[n("thead",{children:n("tr",{children:[n("th",{class:"num",children:"Position"}),n("th",{children:"Type"}),n("th",{children:"Stream"}),n("th",{class:"num",children:"Version"}),n("th",{children:"Time"}),n("th",{children:"User"}),n("th",{children:"Correlation"}),n("th",{children:"Data"})]})}),n("tbody",{children:[h.map(_=>n("tr",{"data-position":_.position,"data-stream":_.streamId,children:[n("td",{class:"num",children:_.position}),n("td",{"data-testid":"type",children:_.eventType}),n("td",{children:n("a",{href:`#/orders/${encodeURIComponent(_.streamId)}`,title:_.streamId,children:Fe(_.streamId)})}),n("td",{class:"num",children:_.version}),n("td",{children:$e(_.recordedAt)}),n("td",{children:_.metadata.userId??"—"}),n("td",{children:n("code",{title:_.metadata.correlationId??"",children:Fe(_.metadata.correlationId??"—")})}),n("td",{children:n("code",{class:"data",children:JSON.stringify(_.data)})})]},_.position)),o&&h.length===0&&n("tr",{children:n("td",{colSpan:8,class:"empty",children:"Waiting for events…"})})]})]})]})}const ke=60;function kn({values:e}){if(e.length<2)return n("svg",{class:"spark",width:120,height:24});const s=Math.max(1,...e),a=120/(ke-1),i=(ke-e.length)*a,c=e.map((l,h)=>`${(i+h*a).toFixed(1)},${(23-l/s*22).toFixed(1)}`).join(" ");return n("svg",{class:"spark",width:120,height:24,viewBox:"0 0 120 24","aria-label":`lag, max ${s}`,children:n("polyline",{points:c,fill:"none",stroke:"currentColor","stroke-width":"1.5"})})}function Sn({initial:e}){const[t,r]=y(e),[s,a]=y([e.lag]),[i,c]=y(""),[l,h]=y(null);Q(()=>ae(dn,{name:e.name},b=>{const k=b.projectionStatus;r(k),a(g=>[...g,k.lag].slice(-ke))},b=>c(W(b))),[e.name]);const[,d]=y(0),m=t.lag;Q(()=>{const b=setInterval(()=>{a(k=>[...k,m].slice(-ke)),d(k=>k+1)},1e3);return()=>clearInterval(b)},[m]);const f=async()=>{c("");try{const b=await V(un,{name:t.name});h(b.rebuildProjection.generation)}catch(b){c(W(b))}},o=t.rebuild,p=l===null?"":!o&&t.generation>=l?`rebuilt: generation ${l} is live`:`rebuilding generation ${l}…`,_=Number(o?.head??0),w=o&&_>0?Math.min(100,Number(o.position)/_*100):0;return n("tr",{"data-projection":t.name,children:[n("td",{children:[n("strong",{children:t.name}),n("div",{class:"hint",children:["generation ",t.generation]})]}),n("td",{class:"num","data-testid":"position",children:t.position}),n("td",{class:"num",children:t.head}),n("td",{class:"num","data-testid":"lag",children:[t.lag,n("div",{class:"hint",children:[t.lagSeconds.toFixed(1)," s"]})]}),n("td",{children:n(kn,{values:s})}),n("td",{class:"num",children:t.eventsPerSecond.toFixed(1)}),n("td",{children:[n("span",{class:`state ${t.state}`,"data-testid":"state",children:t.state}),t.lastError&&n("div",{class:"error",children:t.lastError})]}),n("td",{children:[o?n("div",{"data-testid":"rebuild",children:[n("progress",{max:100,value:w})," ",o.state," gen ",o.generation,": ",o.position,"/",o.head,", ",o.eventsDone," done,"," ",o.eventsPerSecond.toFixed(0),"/s",o.error&&n("div",{class:"error",children:o.error})]}):n("button",{type:"button",onClick:f,children:"Rebuild"}),p&&n("div",{class:"hint","data-testid":"note",children:p}),i&&n("div",{class:"error",role:"alert",children:i})]})]})}function In(){const[e,t]=y(null),[r,s]=y("");return Q(()=>{V(Nt).then(a=>t(a.projections)).catch(a=>s(W(a)))},[]),n("section",{children:[n("h1",{children:"Projections"}),r&&n("p",{class:"error",role:"alert",children:r}),e&&n("table",{class:"projections",children:[n("thead",{children:n("tr",{children:[n("th",{children:"Projection"}),n("th",{class:"num",children:"Position"}),n("th",{class:"num",children:"Head"}),n("th",{class:"num",children:"Lag"}),n("th",{children:"Lag (recent)"}),n("th",{class:"num",children:"Events/s"}),n("th",{children:"State"}),n("th",{children:"Rebuild"})]})}),n("tbody",{children:e.map(a=>n(Sn,{initial:a},a.name))})]})]})}function $n({onChange:e}){const[t,r]=y(ue()),s=ue(),a=s?De(s):null,i=t.trim()?De(t.trim()):null,c=l=>{Qt(l),e(l),Pt("#/orders")};return n("section",{children:[n("h1",{children:"Sign in"}),n("p",{children:s?`Signed in as ${a?.sub??"?"} (${a?.role??"?"}${a?.customer_id?`, customer ${a.customer_id}`:""}).`:'No token: fine when the server runs without CHRONICLE_JWT_SECRET (everyone is an admin named "anonymous").'}),n("form",{onSubmit:l=>{l.preventDefault(),c(t.trim())},children:[n("label",{children:["Token (JWT, HS256)",n("textarea",{name:"token",rows:5,cols:80,value:t,onInput:l=>r(l.currentTarget.value)})]}),t.trim()&&n("p",{class:"hint",children:i?`Claims: sub ${i.sub??"?"}, role ${i.role??"?"}${i.customer_id?`, customer ${i.customer_id}`:""}${i.exp?`, expires ${new Date(i.exp*1e3).toLocaleString()}`:""}`:"This does not look like a JWT."}),n("button",{type:"submit",children:"Sign in"})," ",n("button",{type:"button",onClick:()=>c(""),children:"Sign out"})]})]})}function xn(){const e=Xt(),[t,r]=y(ue),[s,a]=y(!1);Q(()=>Tt(a),[]);const i=t?De(t):null,c=i?.role==="customer",l=(d,m,f)=>n("a",{href:d,class:f?"active":"",children:m});let h;switch(e.view){case"orders":h=n(_n,{customer:c});break;case"order":h=n(fn,{id:e.id});break;case"new":h=n(yn,{defaultCustomer:i?.customer_id??""});break;case"events":h=n(wn,{});break;case"projections":h=n(In,{});break;case"signin":h=n($n,{onChange:r});break}return n(Z,{children:[n("header",{children:[n("strong",{children:"Chronicle"}),n("nav",{children:[l("#/orders","Orders",e.view==="orders"||e.view==="order"),l("#/new","New order",e.view==="new"),!c&&l("#/events","Event log",e.view==="events"),!c&&l("#/projections","Projections",e.view==="projections"),l("#/signin",i?"Account":"Sign in",e.view==="signin")]}),n("span",{class:"who","data-testid":"who",children:i?`${i.sub??"?"} (${i.role??"?"})`:"no token"}),n("span",{class:s?"dot on":"dot","data-testid":"live",title:"subscription socket",children:s?"live":"idle"}),n("a",{class:"graphiql",href:"/graphql",children:"GraphiQL"})]}),n("main",{children:h},t)]})}Ft(n(xn,{}),document.getElementById("app"));
